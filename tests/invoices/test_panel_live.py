"""The panel's refresh control and its cheap change check (what an open panel polls)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from app.invoices.models import DealInvoice
from tests.invoices.helpers import body, create, draft

PANEL = "/pipedrive/panel"


def version_in(html: str) -> str:
    marker = 'id="list-version" name="v" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def test_the_change_check_answers_204_until_the_list_changes(
    client: Any, northwind: Any, contoso: Any, sessionmaker: Any, sandbox: Any
) -> None:
    # The row is changed by hand below: no webhook may re-read the invoice meanwhile.
    await sandbox.send_webhooks(False)
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d))
    assert made.status_code == 201
    listing = await client.get(f"{PANEL}/31/invoices", headers=northwind.headers)
    version = version_in(listing.text)
    same = await client.get(
        f"{PANEL}/31/invoices/version", params={"v": version}, headers=northwind.headers
    )
    assert same.status_code == 204
    async with sessionmaker() as session:
        await session.execute(
            update(DealInvoice)
            .where(DealInvoice.id == made.json()["id"])
            .values(provider_status="PAID", amount_due_minor=0)
        )
        await session.commit()
    changed = await client.get(
        f"{PANEL}/31/invoices/version", params={"v": version}, headers=northwind.headers
    )
    assert changed.status_code == 200
    assert changed.headers["hx-trigger"] == "invoices-changed"
    reloaded = await client.get(f"{PANEL}/31/invoices", headers=northwind.headers)
    assert "Paid" in reloaded.text and version_in(reloaded.text) != version
    # Another company's panel on the same deal number fingerprints its own (empty) list.
    theirs = await client.get(f"{PANEL}/31/invoices/version", headers=contoso.headers)
    empty = await client.get(
        f"{PANEL}/31/invoices/version",
        params={"v": version_in(reloaded.text)},
        headers=contoso.headers,
    )
    assert theirs.status_code == 200 and empty.status_code == 200


async def test_the_panel_refresh_reads_the_provider_now(
    client: Any, northwind: Any, sandbox: Any
) -> None:
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d))
    row = made.json()
    page = await client.get(f"{PANEL}?selectedIds=31", headers=northwind.headers)
    assert 'id="refresh-button"' in page.text and 'id="invoice-watch"' in page.text
    approved = await client.post(
        f"{PANEL}/31/invoices/{row['id']}/actions/AUTHORISED", headers=northwind.headers
    )
    assert approved.status_code == 200
    await sandbox.send_webhooks(False)
    await sandbox.http.post(
        "/_sandbox/xero/payments",
        json={"InvoiceID": row["provider_invoice_id"], "Amount": row["total"]},
    )
    refreshed = await client.post(f"{PANEL}/31/invoices/refresh", headers=northwind.headers)
    assert refreshed.status_code == 200
    assert "Updated 1 invoice(s)." in refreshed.text and "Paid" in refreshed.text
    again = await client.post(f"{PANEL}/31/invoices/refresh", headers=northwind.headers)
    assert "Up to date." in again.text
