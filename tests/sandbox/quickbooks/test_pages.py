"""The read-only pages an "Open in QuickBooks" link lands on."""

from __future__ import annotations

from tests.sandbox.quickbooks.conftest import REALM, Qbo


async def test_invoice_list_shows_derived_status_and_totals(qbo: Qbo) -> None:
    page = await qbo.http.get("/quickbooks/app/app/invoices")
    assert page.status_code == 200
    for status in ("Open", "Partially paid", "Paid", "Overdue"):
        assert f">{status}</span>" in page.text
    assert "USD 6,495.00" in page.text  # 5 x 1200 + 8.25 % tax


async def test_deep_link_shows_one_invoice(qbo: Qbo) -> None:
    page = await qbo.http.get("/quickbooks/app/app/invoice", params={"txnId": "2"})
    assert page.status_code == 200
    assert "Invoice 1002" in page.text and "Partially paid" in page.text
    assert "Subtotal" in page.text and "Balance due" in page.text
    scoped = await qbo.http.get(
        "/quickbooks/app/app/invoice", params={"txnId": "2", "realmId": REALM}
    )
    assert scoped.status_code == 200


async def test_voided_and_deleted_invoices(api: Qbo) -> None:
    await api.post("/invoice", {"Id": "1", "SyncToken": "0"}, operation="void")
    voided = await api.http.get("/quickbooks/app/app/invoice", params={"txnId": "1"})
    assert ">Voided</span>" in voided.text
    await api.post("/invoice", {"Id": "4", "SyncToken": "0"}, operation="delete")
    deleted = await api.http.get("/quickbooks/app/app/invoice", params={"txnId": "4"})
    assert deleted.status_code == 404 and "has been deleted" in deleted.text
    unknown = await api.http.get("/quickbooks/app/app/invoice", params={"txnId": "99"})
    assert unknown.status_code == 404 and "not found" in unknown.text
