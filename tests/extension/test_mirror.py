"""getSearchInvoices and getInvoiceSummary answer from our synced rows (no provider call each
time Pipedrive renders the tab; ``refresh=true`` reads through), with the deal panel's very
figures; postInvoice with a known deal lists the invoice in that deal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.extension import schemas
from tests.extension.helpers import invoice, ok
from tests.extension.test_invoices import contact_id, xero_body


def xero_calls(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["path"].startswith("/xero/api")]


async def test_search_and_summary_answer_from_our_rows(pd, links, sandbox):
    link = links["xero"]
    acme = await contact_id(pd, link, "Acme Ltd")
    await sandbox.send_webhooks(False)
    await sandbox.clear_requests()
    params = {"customerId": acme, "startDate": "2000-01-01"}
    first = ok(await pd("getSearchInvoices", link, params=params), list[schemas.Invoice])
    assert {i.pipedriveStatusCode for i in first} == {"draft", "issued", "paid", "voided"}
    assert xero_calls(await sandbox.requests())
    (before,) = ok(
        await pd("getInvoiceSummary", link, params={"contactId": acme}), list[schemas.SummaryRow]
    )
    await sandbox.clear_requests()
    again = ok(await pd("getSearchInvoices", link, params=params), list[schemas.Invoice])
    summary = ok(
        await pd("getInvoiceSummary", link, params={"contactId": acme}), list[schemas.SummaryRow]
    )
    by_ids = ok(
        await pd("getSearchInvoices", link, params={"ids": ",".join(i.id for i in first)}),
        list[schemas.Invoice],
    )
    assert xero_calls(await sandbox.requests()) == [], "answered from our rows"
    assert [i.id for i in again] == [i.id for i in first] and summary == [before]
    assert {i.id for i in by_ids} == {i.id for i in first}
    # Paid in Xero while no webhook comes: our rows say so after a refresh only.
    issued = next(i for i in first if i.pipedriveStatusCode == "issued")
    paid = await sandbox.http.post(
        "/_sandbox/xero/payments", json={"InvoiceID": issued.id, "Amount": str(issued.dueAmount)}
    )
    assert paid.status_code == 200, paid.text
    stale = ok(
        await pd("getInvoiceSummary", link, params={"contactId": acme}), list[schemas.SummaryRow]
    )
    assert stale == [before]
    (fresh,) = ok(
        await pd("getInvoiceSummary", link, params={"contactId": acme, "refresh": "true"}),
        list[schemas.SummaryRow],
    )
    assert fresh.outstanding == before.outstanding - Decimal(str(issued.dueAmount))
    assert fresh.paid == before.paid + Decimal(str(issued.dueAmount))
    assert xero_calls(await sandbox.requests())
    refreshed = ok(
        await pd("getSearchInvoices", link, params={"ids": issued.id, "refresh": "true"}),
        list[schemas.Invoice],
    )
    assert refreshed[0].pipedriveStatusCode == "paid"


async def test_summary_equals_the_panels_totals(pd, links, client, northwind):
    link = links["xero"]
    acme = await contact_id(pd, link, "Acme Ltd")
    done = await client.put(
        "/api/v1/providers/xero/links/organization/11",
        json={"contact_id": acme},
        headers=northwind.headers,
    )
    assert done.status_code == 200, done.text
    panel = await client.get(
        "/api/v1/deals/31/contact-invoices",
        params={"range": "custom", "from": "2020-01-01", "to": "2024-12-31"},
        headers=northwind.headers,
    )
    assert panel.status_code == 200 and panel.json()["totals"] == []
    panel = await client.get(
        "/api/v1/deals/31/contact-invoices", params={"range": "all"}, headers=northwind.headers
    )
    (totals,) = panel.json()["totals"]
    (row,) = ok(
        await pd("getInvoiceSummary", link, params={"contactId": acme}), list[schemas.SummaryRow]
    )
    assert row.currency == totals["currency"]
    assert row.total == Decimal(totals["invoiced"]) and row.paid == Decimal(totals["paid"])
    assert row.outstanding == Decimal(totals["outstanding"])
    assert row.overdue == Decimal(totals["overdue"])


async def test_post_invoice_with_a_known_deal_joins_its_list(pd, links, client, northwind):
    link = links["xero"]
    data = await xero_body(pd, link)
    made = invoice(await pd("postInvoice", link, json=data, params={"dealId": 31}))
    listed = await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)
    assert [i["provider_invoice_id"] for i in listed.json()] == [made.id]
    assert listed.json()[0]["deal_id"] == 31
    # Without a deal it joins none; another company's deal (or none at all) is 404.
    loose = invoice(await pd("postInvoice", link, json={**data, "dueDate": None}))
    assert loose.id != made.id
    listed = await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)
    assert [i["provider_invoice_id"] for i in listed.json()] == [made.id]
    refused = await pd("postInvoice", link, json=data, params={"dealId": 131})
    assert refused.status_code == 404, refused.text
