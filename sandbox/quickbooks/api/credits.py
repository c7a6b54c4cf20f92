"""Credit memos, and Payments that apply them to invoices (lifecycle-and-billing.md §2.1,
§2.2): QuickBooks has no allocation call; a Payment whose lines link invoices and credit
memos applies the memos, TotalAmt being Σ invoice lines - Σ memo lines (0 for a pure
credit application). Each linked invoice's Balance falls by its line, each memo's
RemainingCredit by its line; both link the Payment and bump their SyncToken."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.api.invoices import amounts, check_date, customer_and_currency, sales_lines
from sandbox.quickbooks.clocktime import company_today
from sandbox.quickbooks.rules import dec
from sandbox.quickbooks.state import Books, money, ref_value

READ_ONLY = ("Id", "SyncToken", "MetaData", "sparse", "domain", "TotalAmt", "Balance")
LINKABLE = ("Invoice", "CreditMemo")


def create_memo(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    """A credit memo, validated and computed as an invoice is (customer, currency, lines,
    tax); its whole total is RemainingCredit until applied."""
    memo = {k: v for k, v in body.items() if k not in READ_ONLY}
    _, currency = customer_and_currency(books, memo)
    memo["Line"] = sales_lines(books, memo.get("Line"))
    today = company_today(books.clock.now())
    memo["TxnDate"] = check_date(memo.get("TxnDate") or today, "TxnDate")
    if not memo.get("DocNumber"):
        memo["DocNumber"] = f"CM{books.store.next_seq(f'qbo:{books.realm}:cmnumber'):04d}"
    amounts(books, memo, body, None, currency)
    memo["RemainingCredit"] = memo["TotalAmt"]
    memo.setdefault("LinkedTxn", [])
    return books.insert("CreditMemo", memo)


def _linked(books: Books, line: Any, index: int) -> tuple[str, dict[str, Any], Decimal]:
    """The one transaction a Payment line links, and the line's amount."""
    element = f"Line[{index}]"
    if not isinstance(line, dict):
        raise errors.invalid_property("Each Line must be an object", element)
    links = line.get("LinkedTxn")
    if not isinstance(links, list) or len(links) != 1 or not isinstance(links[0], dict):
        raise errors.required("LinkedTxn", element=f"{element}.LinkedTxn")
    kind = str(links[0].get("TxnType") or "")
    if kind not in LINKABLE:
        raise errors.invalid_property(
            f"A payment line links an Invoice or a CreditMemo, not {kind!r}",
            f"{element}.LinkedTxn",
        )
    doc = books.require(kind, str(links[0].get("TxnId") or ""))
    amount = money(line.get("Amount"), f"{element}.Amount")
    if amount <= 0:
        raise errors.business("6000", "A payment line amount must be positive.", element)
    return kind, doc, amount


def _check_line(kind: str, doc: dict[str, Any], amount: Decimal, customer: str) -> None:
    if ref_value(doc.get("CustomerRef")) != customer:
        raise errors.business(
            "6000", f"The {kind} {doc['Id']} belongs to another customer.", "CustomerRef"
        )
    left = dec(doc.get("Balance" if kind == "Invoice" else "RemainingCredit", 0))
    if amount > left:
        what = "balance" if kind == "Invoice" else "remaining credit"
        # UNCONFIRMED wording; the rule (never more than is open) is QuickBooks'.
        raise errors.business(
            "6000", f"The amount {amount} is more than the {kind}'s {what} {left}.", "Line"
        )


def create_payment(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    """A Payment over linked invoices and credit memos (see the module's docstring)."""
    customer = ref_value(body.get("CustomerRef"))
    if not customer:
        raise errors.required("CustomerRef")
    books.require("Customer", customer)
    raw = body.get("Line")
    if not isinstance(raw, list) or not raw:
        raise errors.required("Line")
    lines = [_linked(books, line, index) for index, line in enumerate(raw)]
    for kind, doc, amount in lines:
        _check_line(kind, doc, amount, customer)
    total = money(body.get("TotalAmt", 0), "TotalAmt")
    invoiced = sum((a for k, _, a in lines if k == "Invoice"), Decimal("0"))
    credited = sum((a for k, _, a in lines if k == "CreditMemo"), Decimal("0"))
    if total != invoiced - credited or total < 0:
        raise errors.business(
            "6000",
            f"TotalAmt {total} must equal the invoice lines ({invoiced}) less the credit memo "
            f"lines ({credited}).",
            "TotalAmt",
        )
    first = lines[0][1]
    payment = books.insert(
        "Payment",
        {
            "CustomerRef": {"value": customer},
            "CurrencyRef": first["CurrencyRef"],
            "TxnDate": check_date(
                body.get("TxnDate") or company_today(books.clock.now()), "TxnDate"
            ),
            "TotalAmt": float(total),
            "UnappliedAmt": 0,
            "Line": [
                {"Amount": float(a), "LinkedTxn": [{"TxnId": d["Id"], "TxnType": k}]}
                for k, d, a in lines
            ],
        },
    )
    for kind, doc, amount in lines:
        _apply(books, kind, doc, amount, payment["Id"])
    return payment


def _apply(books: Books, kind: str, doc: dict[str, Any], amount: Decimal, payment: str) -> None:
    if kind == "Invoice":
        # ``_paid`` is what was applied to the invoice (payments and credits alike): QuickBooks'
        # Balance nets both, and an invoice with either cannot be voided.
        doc["_paid"] = float(dec(doc.get("_paid", 0)) + amount)
        doc["Balance"] = float(dec(doc["Balance"]) - amount)
        rate = dec(doc.get("ExchangeRate", 1))
        doc["HomeBalance"] = float((dec(doc["Balance"]) * rate).quantize(Decimal("0.01")))
    else:
        doc["RemainingCredit"] = float(dec(doc["RemainingCredit"]) - amount)
        doc["Balance"] = doc["RemainingCredit"]
    doc.setdefault("LinkedTxn", []).append({"TxnId": payment, "TxnType": "Payment"})
    books.save(kind, doc)
