"""The invoice page's pay form: a person plays the customer, pays in full or in part, and the
app hears of it through the signed INVOICE UPDATE webhook."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.sandbox.xero.conftest import Xero

DEEP = "/xero/go/organisationlogin/default.aspx"


def page_url(invoice_id: str) -> str:
    return (
        f"{DEEP}?shortcode=!NwT01&redirecturl=/AccountsReceivable/View.aspx?InvoiceID={invoice_id}"
    )


def amount_due(html: str) -> str:
    found = re.search(r"Amount due</td><td class=\"num\">([^<]+)<", html)
    assert found, html
    return found.group(1)


async def _approved(xero: Xero) -> dict[str, Any]:
    invoice: dict[str, Any] = (await xero.create_invoice(Status="AUTHORISED")).json()["Invoices"][0]
    return invoice


async def test_pay_in_part_then_in_full(xero, http, deliveries):
    inv = await _approved(xero)
    iid = inv["InvoiceID"]
    await deliveries.new_events()
    page = await http.get(page_url(iid))
    assert page.status_code == 200
    assert f'action="http://sandbox.test/xero/invoices/{iid}/pay"' in page.text
    assert 'name="amount" value="345.00"' in page.text
    assert "Pay in full" in page.text and "Record part payment" in page.text

    part = await http.post(f"/xero/invoices/{iid}/pay", data={"pay": "part", "amount": "100"})
    assert part.status_code == 303
    assert part.headers["location"].endswith(f"/AccountsReceivable/View.aspx?InvoiceID={iid}")
    after = await http.get(part.headers["location"])
    assert (
        'status-AUTHORISED">Awaiting payment<' in after.text and amount_due(after.text) == "245.00"
    )
    assert 'name="amount" value="245.00"' in after.text
    assert await deliveries.new_events() == [("INVOICE", "UPDATE", iid)]

    # "Pay in full" pays what is due, whatever the amount box says.
    full = await http.post(f"/xero/invoices/{iid}/pay", data={"pay": "full", "amount": "1"})
    assert full.status_code == 303
    paid = await http.get(full.headers["location"])
    assert 'status-PAID">Paid<' in paid.text and amount_due(paid.text) == "0.00"
    assert "Pay in full" not in paid.text  # nothing left to pay: no form
    assert await deliveries.new_events() == [("INVOICE", "UPDATE", iid)]
    got = (await xero.get(f"/Invoices/{iid}")).json()["Invoices"][0]
    assert got["Status"] == "PAID" and got["AmountPaid"] == 345.0 and len(got["Payments"]) == 2


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "Amount: &#39;abc&#39; is not a number."),
        ("", "Amount: &#39;an empty value&#39; is not a number."),
        ("NaN", "is not a number"),
        ("0", "Amount: enter more than zero."),
        ("-5", "Amount: enter more than zero."),
        ("345.01", "Amount: 345.01 is more than the amount due, 345.00."),
        ("1e40", "is more than the amount due"),
        ("10.005", "Amount: use at most two decimal places."),
    ],
)
async def test_bad_amounts_reshow_the_form_and_change_nothing(
    xero, http, deliveries, amount, message
):
    iid = (await _approved(xero))["InvoiceID"]
    await deliveries.new_events()
    answer = await http.post(f"/xero/invoices/{iid}/pay", data={"pay": "part", "amount": amount})
    assert answer.status_code == 422
    assert message in answer.text and 'role="alert"' in answer.text
    assert f'name="amount" value="{amount}"' in answer.text  # what was typed, to correct
    got = (await xero.get(f"/Invoices/{iid}")).json()["Invoices"][0]
    assert got["AmountDue"] == 345.0 and got["Payments"] == []
    assert await deliveries.new_events() == []


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED", "VOIDED", "PAID"])
async def test_only_approved_invoices_take_payments(xero, http, deliveries, status):
    iid = (await _approved(xero))["InvoiceID"] if status in ("VOIDED", "PAID") else None
    if status == "VOIDED":
        await xero.post(f"/Invoices/{iid}", {"Status": "VOIDED"})
    elif status == "PAID":
        await http.post("/_sandbox/xero/payments", json={"InvoiceID": iid, "Amount": "345"})
    else:
        iid = (await xero.create_invoice(Status=status)).json()["Invoices"][0]["InvoiceID"]
    await deliveries.new_events()
    before = (await xero.get(f"/Invoices/{iid}")).json()["Invoices"][0]
    page = await http.get(page_url(iid))
    assert page.status_code == 200 and "Pay in full" not in page.text
    answer = await http.post(f"/xero/invoices/{iid}/pay", data={"pay": "full", "amount": ""})
    assert answer.status_code == 409
    assert "This invoice cannot take a payment" in answer.text
    assert "only be applied to an AUTHORISED invoice" in answer.text
    after = (await xero.get(f"/Invoices/{iid}")).json()["Invoices"][0]
    assert after == before
    assert await deliveries.new_events() == []


async def test_unknown_invoice_or_choice(xero, http):
    missing = await http.post(
        "/xero/invoices/00000000-0000-0000-0000-000000000000/pay", data={"pay": "full"}
    )
    assert missing.status_code == 404
    iid = (await _approved(xero))["InvoiceID"]
    odd = await http.post(f"/xero/invoices/{iid}/pay", data={"pay": "refund", "amount": "5"})
    assert odd.status_code == 422 and "Choose Pay in full or Record part payment" in odd.text
