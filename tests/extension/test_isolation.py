"""A link id names one company's connection: it never reaches another company's data."""

from __future__ import annotations

from app.extension import schemas
from tests.extension.conftest import link_of
from tests.extension.helpers import fails, invoice, ok
from tests.extension.test_invoices import contact_id, xero_body

XERO_AU = "b1f3c0de-0000-4000-8000-000000000002"


async def test_link_of_company_a_never_reaches_company_b(
    pd, links, contoso, flow, sessionmaker, sandbox
):
    done = await flow.xero(contoso.user, email="colin@contoso.test", tenant_ids=(XERO_AU,))
    assert done.status_code == 303, done.text
    a, b = links["xero"], await link_of(sessionmaker, contoso, "xero")
    assert a != b
    status_a = ok(await pd("getProviderAccount", a), schemas.LinkStatus)
    status_b = ok(await pd("getProviderAccount", b), schemas.LinkStatus)
    assert status_a.name == "Northwind Traders NZ"
    assert status_b.name == "Northwind Demo AU" and status_b.orgId == XERO_AU
    # Company A's contact and invoice, asked for through company B's link: not there.
    acme = await contact_id(pd, a, "Acme Ltd")
    created = invoice(await pd("postInvoice", a, json=await xero_body(pd, a)))
    fails(await pd("getContact", b, contactId=acme), 404)
    fails(await pd("postInvoiceStatus", b, invoiceId=created.id, json={"id": "DELETED"}), 404)
    fails(await pd("getInvoicePDF", b, invoiceId=created.id), 404)
    assert (
        ok(await pd("getSearchInvoices", b, params={"ids": created.id}), list[schemas.Invoice])
        == []
    )
    names_b = {
        c.displayName
        for c in ok(await pd("getSearchContacts", b, params={"name": "a"}), list[schemas.Contact])
    }
    assert "Acme Ltd" not in names_b
    # Company B's lookups are its own organisation's (AUD only).
    assert [c.id for c in ok(await pd("getCurrencies", b), list[schemas.InvoiceCurrency])] == [
        "AUD"
    ]
    # And company A's invoice is untouched.
    again = ok(await pd("getSearchInvoices", a, params={"ids": created.id}), list[schemas.Invoice])
    assert [i.pipedriveStatusCode for i in again] == ["draft"]
    # Company B's links were registered for company B's Pipedrive.
    rows = (await sandbox.http.get("/_sandbox/pipedrive/invoice-links")).json()
    assert {r["company_id"] for r in rows if r["linkId"] == b} == {7002}
