"""Payments recorded against invoices (the sandbox control call stands in for a customer
paying): Balance drops, the invoice links the Payment, its SyncToken bumps (quickbooks.md §8)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.clocktime import company_today
from sandbox.quickbooks.rules import cents, dec
from sandbox.quickbooks.state import Books
from sandbox.quickbooks.webhooks import emit

if TYPE_CHECKING:
    from sandbox.app import Sandbox


def payable_problem(doc: dict[str, Any]) -> str | None:
    """Why the invoice cannot take a payment, or None. A voided invoice (Balance 0) or a paid
    one has nothing left to receive."""
    if dec(doc.get("Balance", 0)) <= 0:
        return "The invoice has no balance due."
    return None


def record_payment(
    sandbox: Sandbox, books: Books, invoice_id: str, amount: Decimal
) -> dict[str, Any]:
    """Apply a customer payment in one transaction, then send its webhooks (Payment Create and
    Invoice Update). Raises QboFault, changing nothing, when refused."""
    with sandbox.store.transaction():
        paid = apply_payment(books, invoice_id, amount)
    emit(sandbox, books.realm, books.events)
    books.events.clear()
    return paid


def apply_payment(books: Books, invoice_id: str, amount: Decimal) -> dict[str, Any]:
    """Record a Payment against an invoice: Balance drops, LinkedTxn Payment, SyncToken bumps."""
    doc = books.require("Invoice", invoice_id)
    balance = dec(doc.get("Balance", 0))
    if amount <= 0 or amount > balance:
        raise errors.business(
            "6000", f"Payment amount {amount} must be positive and at most the balance {balance}."
        )
    payment = books.insert(
        "Payment",
        {
            "CustomerRef": doc["CustomerRef"],
            "CurrencyRef": doc["CurrencyRef"],
            "TxnDate": company_today(books.clock.now()).isoformat(),
            "TotalAmt": float(amount),
            "UnappliedAmt": 0,
            "Line": [
                {
                    "Amount": float(amount),
                    "LinkedTxn": [{"TxnId": doc["Id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )
    doc["_paid"] = float(dec(doc.get("_paid", 0)) + amount)
    doc["Balance"] = float(balance - amount)
    rate = dec(doc.get("ExchangeRate", 1))
    doc["HomeBalance"] = float(cents(dec(doc["Balance"]) * rate))
    doc.setdefault("LinkedTxn", []).append({"TxnId": payment["Id"], "TxnType": "Payment"})
    books.save("Invoice", doc)
    return payment
