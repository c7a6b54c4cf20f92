"""Applying a payment to an invoice (the sandbox control call and the demo seed).

A partial payment lowers AmountDue and raises AmountPaid; the payment that clears the
balance makes the invoice PAID with FullyPaidOnDate (xero.md 10.3, 10.5).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.xero import rules
from sandbox.xero.state import XeroState, new_id


class PaymentError(ValueError):
    pass


def payable_problem(invoice: dict[str, Any]) -> str | None:
    """Why `invoice` cannot take a payment, or None when it can."""
    if invoice["Status"] != "AUTHORISED":
        # Xero only takes payments on approved invoices (wording UNCONFIRMED).
        return "Payment can only be applied to an AUTHORISED invoice"
    return None


def apply_payment(
    state: XeroState, invoice: dict[str, Any], amount: Decimal, paid_on: str | None = None
) -> dict[str, Any]:
    """Record `amount` against `invoice` and save it; raises PaymentError when refused."""
    problem = payable_problem(invoice)
    if problem:
        raise PaymentError(problem)
    amount = rules.money(amount)
    due = Decimal(invoice["AmountDue"])
    if amount <= 0:
        raise PaymentError("Payment amount must be greater than zero")
    if amount > due:
        raise PaymentError(f"Payment amount {amount} exceeds the amount due {due}")
    day = paid_on or state.now().date().isoformat()
    invoice["Payments"] = [
        *invoice.get("Payments", []),
        {
            "PaymentID": new_id(),
            "Date": day,
            "Amount": str(amount),
            "CurrencyRate": invoice.get("CurrencyRate", "1"),
            "HasAccount": False,
            "HasValidationErrors": False,
        },
    ]
    paid = Decimal(invoice["AmountPaid"]) + amount
    invoice["AmountPaid"] = str(rules.money(paid))
    invoice["AmountDue"] = str(rules.money(due - amount))
    if due - amount == 0:
        invoice["Status"] = "PAID"
        invoice["FullyPaidOnDate"] = day
    invoice["UpdatedDateUTC"] = state.now_ms()
    state.store.put("xero:invoice", invoice["InvoiceID"], invoice, scope=invoice["_tenant"])
    if state.batcher is not None:
        state.batcher.add(invoice["_tenant"], "INVOICE", "UPDATE", invoice["InvoiceID"])
    return invoice
