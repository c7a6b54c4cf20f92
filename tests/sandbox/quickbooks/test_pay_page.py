"""The deep-link invoice page's pay form: a person plays the customer, pays in part or in
full, and the app hears of it through the signed Payment and Invoice webhooks."""

from __future__ import annotations

import re

import pytest

from tests.sandbox.quickbooks.conftest import REALM, Deliveries, Qbo

PAGE = "/quickbooks/app/app/invoice"
PAY = "/quickbooks/app/app/invoice/pay"


@pytest.fixture
async def deliveries(api: Qbo) -> Deliveries:
    return Deliveries(api)


def balance(html: str) -> str:
    found = re.search(r"Balance due</th><td class=\"num\">USD ([^<]+)<", html)
    assert found, html
    return found.group(1)


def where(txn_id: str) -> dict[str, str]:
    return {"txnId": txn_id, "realmId": REALM}


async def test_pay_in_part_then_in_full(api: Qbo, deliveries: Deliveries):
    page = await api.http.get(PAGE, params={"txnId": "1"})
    assert page.status_code == 200 and ">Open</span>" in page.text
    assert f'action="invoice/pay?txnId=1&amp;realmId={REALM}"' in page.text
    assert 'name="amount" value="6495.00"' in page.text
    assert "Pay in full" in page.text and "Record part payment" in page.text

    part = await api.http.post(PAY, params=where("1"), data={"pay": "part", "amount": "1,000.50"})
    assert part.status_code == 303
    assert part.headers["location"] == f"{PAGE}?txnId=1&realmId={REALM}"
    after = await api.http.get(part.headers["location"])
    assert ">Partially paid</span>" in after.text and balance(after.text) == "5,494.50"
    assert 'name="amount" value="5494.50"' in after.text
    events = await deliveries.new_events()
    assert [e[:2] for e in events] == [("payment", "created"), ("invoice", "updated")]
    assert events[1][2] == "1"

    full = await api.http.post(PAY, params=where("1"), data={"pay": "full", "amount": "7"})
    assert full.status_code == 303
    paid = await api.http.get(full.headers["location"])
    assert ">Paid</span>" in paid.text and balance(paid.text) == "0.00"
    assert "Pay in full" not in paid.text
    assert [e[:2] for e in await deliveries.new_events()] == [
        ("payment", "created"),
        ("invoice", "updated"),
    ]
    invoice = (await api.get("/invoice/1")).json()["Invoice"]
    assert invoice["Balance"] == 0
    assert [t["TxnType"] for t in invoice["LinkedTxn"]] == ["Payment", "Payment"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("ten", "Amount: &#39;ten&#39; is not a number."),
        ("", "Amount: &#39;an empty value&#39; is not a number."),
        ("Infinity", "is not a number"),
        ("0", "Amount: enter more than zero."),
        ("-1", "Amount: enter more than zero."),
        ("6495.01", "Amount: 6495.01 is more than the amount due, 6495.00."),
        ("0.001", "Amount: use at most two decimal places."),
    ],
)
async def test_bad_amounts_reshow_the_form_and_change_nothing(
    api: Qbo, deliveries: Deliveries, amount: str, message: str
):
    before = (await api.get("/invoice/1")).json()["Invoice"]
    answer = await api.http.post(PAY, params=where("1"), data={"pay": "part", "amount": amount})
    assert answer.status_code == 422
    assert message in answer.text and 'role="alert"' in answer.text
    assert f'name="amount" value="{amount}"' in answer.text
    assert (await api.get("/invoice/1")).json()["Invoice"] == before
    assert await deliveries.new_events() == []


async def test_paid_or_voided_invoices_take_no_payment(api: Qbo, deliveries: Deliveries):
    await api.post("/invoice", {"Id": "4", "SyncToken": "0"}, operation="void")
    await deliveries.new_events()
    for txn_id, status in (("3", "Paid"), ("4", "Voided")):
        before = (await api.get(f"/invoice/{txn_id}")).json()["Invoice"]
        page = await api.http.get(PAGE, params={"txnId": txn_id})
        assert page.status_code == 200 and "Pay in full" not in page.text
        answer = await api.http.post(PAY, params=where(txn_id), data={"pay": "full"})
        assert answer.status_code == 409
        assert f"This invoice cannot take a payment ({status})" in answer.text
        assert (await api.get(f"/invoice/{txn_id}")).json()["Invoice"] == before
    assert await deliveries.new_events() == []


async def test_deleted_or_unknown_invoice_is_404(api: Qbo):
    await api.post("/invoice", {"Id": "1", "SyncToken": "0"}, operation="delete")
    gone = await api.http.post(PAY, params=where("1"), data={"pay": "full"})
    assert gone.status_code == 404 and "has been deleted" in gone.text
    unknown = await api.http.post(PAY, params=where("99"), data={"pay": "full"})
    assert unknown.status_code == 404
