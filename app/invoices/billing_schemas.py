"""The billing API's shapes beyond one invoice: credit notes (``flows/credit.py``) and
recurring schedules (``flows/recurring.py``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.invoices.schemas import MAX_AMOUNT, InvoiceOut, Provider


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


ScheduleAction = Literal["pause", "resume", "stop"]


class ScheduleOut(BaseModel):
    """One schedule of a deal: what it bills, how often, how far it got, what comes next."""

    id: str
    deal_id: int
    provider: Provider
    product_ids: list[int]
    frequency: str
    cycles: int | None = None
    start_date: date
    # No product gave a start date: the deal's expected close date is used (the dialog says so).
    start_from_close: bool = False
    periods_done: int
    next_date: date | None = None
    status: str
    last_error: str | None = None
    note: str | None = None
    # Held at the provider: its repeating invoice makes each period's draft (no worker runs).
    provider_schedule_id: str | None = None
    held_at_provider: bool = False


class CreditIn(_Body):
    """What to credit on an approved or paid invoice: all of it (``full``), chosen lines
    (``line_ids``, the provider's line ids), or an amount (tax included, in the invoice's
    currency). Exactly one of the three."""

    full: bool = False
    line_ids: list[str] | None = Field(default=None, min_length=1, max_length=200)
    amount: Decimal | None = Field(default=None, gt=0)
    reason: str | None = Field(default=None, max_length=255)

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and (not value.is_finite() or value > MAX_AMOUNT):
            raise ValueError("amount must be a number within bounds")
        return value

    @model_validator(mode="after")
    def _one_choice(self) -> CreditIn:
        chosen = [self.full, self.line_ids is not None, self.amount is not None]
        if sum(chosen) != 1:
            raise ValueError("Choose one: the full invoice, some lines, or an amount.")
        return self


class CreditOut(BaseModel):
    """One credit note on an invoice: its total, and what of it was applied to the invoice
    (the rest stays with the customer as credit)."""

    id: str
    invoice_id: str
    provider: Provider
    status: str
    provider_credit_id: str | None = None
    number: str | None = None
    currency: str
    total: Decimal
    applied: Decimal
    reason: str | None = None


class CreditResult(BaseModel):
    """A credit and the invoice as it is after it."""

    credit: CreditOut
    invoice: InvoiceOut


class CreditLineOut(BaseModel):
    """A line of the invoice that may be credited (the provider's line id)."""

    id: str
    description: str | None = None
    quantity: Decimal | None = None
    amount: Decimal


class CreditOptions(BaseModel):
    """What the credit dialog offers: the invoice's lines and what is left to credit."""

    invoice_id: str
    currency: str
    total: Decimal
    left: Decimal
    amount_due: Decimal
    lines: list[CreditLineOut]


class PartOut(BaseModel):
    """One part of a deal already invoiced (or being invoiced), with its invoice's status."""

    invoice_id: str
    provider: Provider
    label: str
    amount: Decimal
    status: str
    status_label: str | None = None
    number: str | None = None


class InstallmentOut(BaseModel):
    """A Pipedrive deal installment, offered as a part; ``invoice_id`` once it is invoiced."""

    id: int
    description: str
    amount: Decimal
    billing_date: date | None = None
    invoice_id: str | None = None


class BillingOut(BaseModel):
    """How much of a deal is invoiced: its value, what its invoices come to, what is left."""

    deal_id: int
    currency: str | None = None
    # None until the deal has been invoiced (its value is then known from its lines).
    deal_amount: Decimal | None = None
    invoiced: Decimal = Decimal(0)
    remaining: Decimal | None = None
    parts: list[PartOut] = Field(default_factory=list)
    installments: list[InstallmentOut] = Field(default_factory=list)
