"""Credit memos, and the Payment that applies one (lifecycle-and-billing.md §2.1): a memo is
computed as an invoice is and keeps its RemainingCredit; a zero-amount Payment linking the
invoice and the memo lowers the invoice's Balance and the memo's RemainingCredit, and blocks
the invoice's void; TotalAmt must be the invoice lines less the memo lines, a line never more
than what is open, both transactions the same customer's."""

from __future__ import annotations

from typing import Any

from tests.sandbox.quickbooks.conftest import Qbo, fault, invoice_body


async def post(api: Qbo, path: str, body: dict[str, Any], entity: str) -> dict[str, Any]:
    response = await api.post(path, body, minorversion="75")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()[entity]
    return found


def applying(invoice: str, memo: str, amount: float, total: float = 0) -> dict[str, Any]:
    return {
        "CustomerRef": {"value": "1"},
        "TotalAmt": total,
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": invoice, "TxnType": "Invoice"}]},
            {"Amount": amount, "LinkedTxn": [{"TxnId": memo, "TxnType": "CreditMemo"}]},
        ],
    }


async def test_a_zero_amount_payment_applies_the_memo(api: Qbo) -> None:
    invoice = await post(api, "/invoice", invoice_body(), "Invoice")  # 324.75
    memo = await post(api, "/creditmemo", invoice_body(), "CreditMemo")
    assert memo["TotalAmt"] == 324.75 == memo["RemainingCredit"] and memo["DocNumber"]
    payment = await post(api, "/payment", applying(invoice["Id"], memo["Id"], 100), "Payment")
    assert payment["TotalAmt"] == 0
    read = (await api.get(f"/invoice/{invoice['Id']}")).json()["Invoice"]
    assert read["Balance"] == 224.75 and read["SyncToken"] == "1"
    assert {"TxnId": payment["Id"], "TxnType": "Payment"} in read["LinkedTxn"]
    left = (await api.get(f"/creditmemo/{memo['Id']}")).json()["CreditMemo"]
    assert left["RemainingCredit"] == 224.75
    void = await api.post(
        "/invoice", {"Id": invoice["Id"], "SyncToken": "1"}, operation="void", minorversion="75"
    )
    assert void.status_code == 400


async def test_payment_rules(api: Qbo) -> None:
    invoice = await post(api, "/invoice", invoice_body(), "Invoice")
    memo = await post(api, "/creditmemo", invoice_body(), "CreditMemo")
    unbalanced = await api.post("/payment", applying(invoice["Id"], memo["Id"], 10, total=10))
    assert unbalanced.status_code == 400 and "TotalAmt" in fault(unbalanced)["Detail"]
    too_much = await api.post("/payment", applying(invoice["Id"], memo["Id"], 400))
    assert too_much.status_code == 400 and "balance" in fault(too_much)["Detail"]
    other = await post(api, "/creditmemo", invoice_body(CustomerRef={"value": "2"}), "CreditMemo")
    theirs = await api.post("/payment", applying(invoice["Id"], other["Id"], 10))
    assert theirs.status_code == 400 and "another customer" in fault(theirs)["Detail"]
    read = (await api.get(f"/invoice/{invoice['Id']}")).json()["Invoice"]
    assert read["Balance"] == 324.75


async def test_a_repeated_requestid_applies_once(api: Qbo) -> None:
    invoice = await post(api, "/invoice", invoice_body(), "Invoice")
    memo = await post(api, "/creditmemo", invoice_body(), "CreditMemo")
    body = applying(invoice["Id"], memo["Id"], 50)
    first = await api.post("/payment", body, requestid="apply-1")
    again = await api.post("/payment", body, requestid="apply-1")
    assert first.json()["Payment"]["Id"] == again.json()["Payment"]["Id"]
    read = (await api.get(f"/invoice/{invoice['Id']}")).json()["Invoice"]
    assert read["Balance"] == 274.75
