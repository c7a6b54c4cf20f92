"""The deal's linked contact through our JSON API: "View all invoices" (made in Xero directly
or from other deals), its totals, linking and unlinking an invoice to the deal, unlinking the
contact, bad input, and another company's ids (404 on every route)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.invoices.models import DealInvoice
from app.tenants.models import AuditEvent
from tests.connections.conftest import XERO_AU
from tests.invoices.helpers import body, create, draft, until

API = "/api/v1"


async def acme(client: Any, headers: dict[str, str]) -> str:
    found = await client.get(
        f"{API}/providers/xero/contacts", params={"q": "Acme Ltd"}, headers=headers
    )
    assert found.status_code == 200, found.text
    return str(next(c["id"] for c in found.json() if c["name"] == "Acme Ltd"))


async def link_acme(client: Any, northwind: Any) -> str:
    """Deal 31's organization (Acme Ltd, 11) linked to Xero's Acme Ltd."""
    contact = await acme(client, northwind.headers)
    done = await client.put(
        f"{API}/providers/xero/links/organization/11",
        json={"contact_id": contact},
        headers=northwind.headers,
    )
    assert done.status_code == 200, done.text
    return contact


async def view_all(client: Any, headers: dict[str, str], deal: int = 31, **params: Any) -> Any:
    return await client.get(f"{API}/deals/{deal}/contact-invoices", params=params, headers=headers)


def xero_calls(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["path"].startswith("/xero/api")]


async def test_view_all_lists_the_contacts_invoices_made_in_xero(client, northwind, sandbox):
    await link_acme(client, northwind)
    await sandbox.clear_requests()
    first = await view_all(client, northwind.headers, range="all")
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["contact_name"] == "Acme Ltd" and page["provider"] == "xero"
    statuses = sorted(i["provider_status"] for i in page["invoices"])
    assert statuses == ["AUTHORISED", "DRAFT", "PAID", "VOIDED"]
    assert not any(i["linked"] for i in page["invoices"])
    assert xero_calls(await sandbox.requests()), "the first view reads the contact at Xero"
    # Totals: receivables only (the draft and the voided one are not money owed).
    by = {i["provider_status"]: i for i in page["invoices"]}
    (nzd,) = page["totals"]
    assert nzd["currency"] == "NZD"
    authorised, paid = by["AUTHORISED"], by["PAID"]
    assert Decimal(nzd["invoiced"]) == Decimal(authorised["total"]) + Decimal(paid["total"])
    assert Decimal(nzd["paid"]) == Decimal(paid["total"])
    assert Decimal(nzd["outstanding"]) == Decimal(authorised["amount_due"])
    assert Decimal(nzd["overdue"]) == 0
    # Later views read our rows only: no call to Xero.
    await sandbox.clear_requests()
    again = await view_all(client, northwind.headers, range="all", status="paid")
    assert [i["provider_status"] for i in again.json()["invoices"]] == ["PAID"]
    assert xero_calls(await sandbox.requests()) == []
    # refresh=true reads through to Xero.
    await view_all(client, northwind.headers, range="all", refresh="true")
    assert xero_calls(await sandbox.requests())


async def test_link_and_unlink_an_invoice_made_in_xero(client, northwind, sessionmaker):
    await link_acme(client, northwind)
    page = (await view_all(client, northwind.headers, range="all")).json()
    paid = next(i for i in page["invoices"] if i["provider_status"] == "PAID")
    url = f"{API}/deals/31/invoice-links/{paid['id']}"
    linked = await client.put(url, headers=northwind.headers)
    assert linked.status_code == 201, linked.text
    again = await client.put(url, headers=northwind.headers)
    assert again.status_code == 200 and again.json()["id"] == paid["id"]
    deal = await client.get(f"{API}/deals/31/invoices", headers=northwind.headers)
    assert [i["id"] for i in deal.json()] == [paid["id"]]
    shown = (await view_all(client, northwind.headers, range="all")).json()["invoices"]
    assert {i["id"] for i in shown if i["linked"]} == {paid["id"]}
    gone = await client.delete(url, headers=northwind.headers)
    assert gone.status_code == 204
    assert (await client.get(f"{API}/deals/31/invoices", headers=northwind.headers)).json() == []
    # The last link gone, the invoice and its history stay (still the contact's).
    kept = (await view_all(client, northwind.headers, range="all")).json()["invoices"]
    assert paid["id"] in {i["id"] for i in kept}
    assert (await client.delete(url, headers=northwind.headers)).status_code == 404
    async with sessionmaker() as session:
        events = list(
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.in_(("invoice.linked", "invoice.unlinked")))
                .order_by(AuditEvent.at)
            )
        )
    # Once each: linking it again changed nothing, so recorded nothing.
    assert [(e.action, e.details["deal_id"]) for e in events] == [
        ("invoice.linked", 31),
        ("invoice.unlinked", 31),
    ]
    assert {e.actor_user_id for e in events} == {northwind.user.id}


async def test_unlinking_the_invoice_created_from_the_deal_keeps_it(client, northwind):
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d))
    assert made.status_code == 201, made.text
    row = made.json()["id"]
    # Creating it remembered Acme as the organization's contact: it is among its invoices.
    page = (await view_all(client, northwind.headers, range="all")).json()
    assert {i["id"]: i["linked"] for i in page["invoices"]}[row] is True
    assert len(page["invoices"]) == 5
    url = f"{API}/deals/31/invoice-links/{row}"
    assert (await client.delete(url, headers=northwind.headers)).status_code == 204
    assert (await client.get(f"{API}/deals/31/invoices", headers=northwind.headers)).json() == []
    assert (await client.put(url, headers=northwind.headers)).status_code == 201
    listed = (await client.get(f"{API}/deals/31/invoices", headers=northwind.headers)).json()
    assert [i["id"] for i in listed] == [row]


async def test_another_contacts_invoice_is_404(client, northwind):
    await link_acme(client, northwind)
    page = (await view_all(client, northwind.headers, range="all")).json()
    invoice = page["invoices"][0]["id"]
    # Deal 32 (Globex) is linked to no contact, then to another one: Acme's invoice is not its.
    refused = await client.put(f"{API}/deals/32/invoice-links/{invoice}", headers=northwind.headers)
    assert refused.status_code == 404, refused.text
    other = await client.get(
        f"{API}/providers/xero/contacts", params={"q": "Globex"}, headers=northwind.headers
    )
    globex = next(c["id"] for c in other.json() if c["id"] != page["contact_id"])
    done = await client.put(
        f"{API}/providers/xero/links/organization/12",
        json={"contact_id": globex},
        headers=northwind.headers,
    )
    assert done.status_code == 200, done.text
    refused = await client.put(f"{API}/deals/32/invoice-links/{invoice}", headers=northwind.headers)
    assert refused.status_code == 404
    assert refused.json()["error"]["field"] == "invoice_id"
    unknown = await client.put(
        f"{API}/deals/31/invoice-links/no-such-row", headers=northwind.headers
    )
    assert unknown.status_code == 404


async def test_bad_ranges_are_422_naming_the_field(client, northwind):
    await link_acme(client, northwind)
    h = northwind.headers
    backwards = await view_all(
        client, h, range="custom", **{"from": "2026-05-01", "to": "2026-04-01"}
    )
    assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "from"
    too_long = await view_all(
        client, h, range="custom", **{"from": "2015-01-01", "to": "2026-01-01"}
    )
    assert too_long.status_code == 422 and too_long.json()["error"]["field"] == "to"
    open_ended = await view_all(client, h, range="custom", **{"from": "2026-01-01"})
    assert open_ended.status_code == 422 and open_ended.json()["error"]["field"] == "to"
    assert (await view_all(client, h, range="fortnight")).status_code == 422
    assert (await view_all(client, h, status="lost")).status_code == 422
    custom = await view_all(client, h, range="custom", **{"from": "2000-01-01", "to": "2004-12-31"})
    assert custom.status_code == 200 and custom.json()["invoices"] == []


async def test_unlink_contact_falls_back_to_suggestions(client, northwind):
    await link_acme(client, northwind)
    linked = await draft(client, northwind.headers, 31, "xero")
    assert linked.customer.link_state == "linked"
    gone = await client.delete(
        f"{API}/deals/31/contact-link", params={"provider": "xero"}, headers=northwind.headers
    )
    assert gone.status_code == 204
    after = await draft(client, northwind.headers, 31, "xero")
    assert after.customer.link_state == "suggested"
    assert [s.name for s in after.customer.suggestions] == ["Acme Ltd"]
    assert (await view_all(client, northwind.headers)).status_code == 404
    again = await client.delete(f"{API}/deals/31/contact-link", headers=northwind.headers)
    assert again.status_code == 404


async def test_another_companys_ids_are_404_on_every_route(client, northwind, contoso, flow):
    await link_acme(client, northwind)
    page = (await view_all(client, northwind.headers, range="all")).json()
    invoice = page["invoices"][0]["id"]
    assert (
        await client.put(f"{API}/deals/31/invoice-links/{invoice}", headers=northwind.headers)
    ).status_code == 201
    connected = await flow.xero(contoso.user, email="colin@contoso.test", tenant_ids=(XERO_AU,))
    assert connected.status_code in (200, 303), connected.text
    h = contoso.headers
    # Northwind's deal is not Contoso's.
    assert (await view_all(client, h, 31)).status_code == 404
    assert (
        await client.put(f"{API}/deals/31/invoice-links/{invoice}", headers=h)
    ).status_code == 404
    assert (
        await client.delete(f"{API}/deals/31/invoice-links/{invoice}", headers=h)
    ).status_code == 404
    assert (await client.delete(f"{API}/deals/31/contact-link", headers=h)).status_code == 404
    # Contoso's own deal, Northwind's invoice.
    assert (
        await client.put(f"{API}/deals/131/invoice-links/{invoice}", headers=h)
    ).status_code == 404
    assert (
        await client.delete(f"{API}/deals/131/invoice-links/{invoice}", headers=h)
    ).status_code == 404
    # Northwind still has its link.
    deal = await client.get(f"{API}/deals/31/invoices", headers=northwind.headers)
    assert [i["id"] for i in deal.json()] == [invoice]


async def test_two_first_reads_at_once_mirror_each_invoice_once(client, northwind, sessionmaker):
    await link_acme(client, northwind)
    both = await asyncio.gather(
        view_all(client, northwind.headers, range="all"),
        client.get("/pipedrive/panel/31/contact/totals", headers=northwind.headers),
    )
    assert [r.status_code for r in both] == [200, 200], [r.text[:300] for r in both]
    async with sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(DealInvoice.provider_invoice_id).where(
                    DealInvoice.company_id == northwind.user.company_id,
                    DealInvoice.source == "provider",
                )
            )
        )
    assert len(ids) == len(set(ids)) == 4


async def test_a_linked_invoice_made_in_xero_follows_a_payment(
    client, northwind, sandbox, app_server
):
    await link_acme(client, northwind)
    page = (await view_all(client, northwind.headers, range="all", status="unpaid")).json()
    (unpaid,) = page["invoices"]
    url = f"{API}/deals/31/invoice-links/{unpaid['id']}"
    assert (await client.put(url, headers=northwind.headers)).status_code == 201
    paid = await sandbox.http.post(
        "/_sandbox/xero/payments",
        json={"InvoiceID": unpaid["provider_invoice_id"], "Amount": unpaid["amount_due"]},
    )
    assert paid.status_code == 200, paid.text

    async def shows_paid() -> dict[str, Any] | None:
        listed = await client.get(f"{API}/deals/31/invoices", headers=northwind.headers)
        (row,) = listed.json()
        return row if row["provider_status"] == "PAID" else None

    # The Xero webhook, the inbox and the worker apply it to the mirrored row.
    row = await until(shows_paid)
    assert Decimal(row["amount_due"]) == 0 and row["status_label"] == "Paid"
