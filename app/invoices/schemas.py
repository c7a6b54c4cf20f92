"""The invoices API's shapes: the draft we propose, the reviewed invoice the dialog sends back,
and the invoices of a deal. Money is Decimal (serialised as strings), dates ISO."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.crm.pipedrive.schemas import PipedriveId
from app.providers.base import ProviderId, TaxMode

Provider = Literal["xero", "quickbooks"]
LinkState = Literal["linked", "suggested", "none"]
LineKind = Literal["product", "manual", "deal_discount"]
Severity = Literal["error", "warning", "confirm"]

# Sanity bounds: a quantity or price beyond these is a typo, not an invoice.
MAX_AMOUNT = Decimal("999999999999")
MAX_TEXT = 4000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _finite(value: Decimal | None, name: str) -> Decimal | None:
    if value is None:
        return None
    if not value.is_finite():
        raise ValueError(f"{name} must be a number")
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"{name} is too large")
    return value


class Check(BaseModel):
    """One finding before sending. ``error`` blocks; ``confirm`` needs the user's explicit
    confirmation (zero total); ``warning`` is information."""

    code: str
    severity: Severity
    field: str | None = None
    message: str


class ContactOut(BaseModel):
    id: str
    name: str
    email: str | None = None
    tax_number: str | None = None
    currency: str | None = None
    address: str | None = None


class ItemOut(BaseModel):
    id: str
    name: str
    code: str | None = None
    description: str | None = None
    unit_price: Decimal | None = None
    tax_code: str | None = None
    account_code: str | None = None


class FieldChange(BaseModel):
    """One difference between the CRM's customer data and the provider contact."""

    field: Literal["email", "address", "tax_id"]
    provider_value: str | None
    crm_value: str


class CustomerOut(BaseModel):
    to: str | None = None
    address: str | None = None
    email: str | None = None
    tax_id: str | None = None
    crm_entity: Literal["organization", "person"] | None = None
    crm_id: int | None = None
    link_state: LinkState = "none"
    contact: ContactOut | None = None
    suggestions: list[ContactOut] = Field(default_factory=list)
    # What "update customer info in the provider" would change on the contact.
    changes: list[FieldChange] = Field(default_factory=list)
    update_contact: bool = False


class DetailsOut(BaseModel):
    issue_date: date
    due_date: date
    currency: str
    tax_mode: TaxMode
    tax_code: str | None = None
    template_id: str | None = None
    reference: str | None = None
    deal_url: str | None = None
    deal_title: str = ""
    # The IANA zone the dates are in: the company's one timezone (app.tenants.clock).
    timezone: str = "UTC"


class LineBase(BaseModel):
    description: str = Field(min_length=1, max_length=MAX_TEXT)
    quantity: Decimal = Decimal("1")
    unit_price: Decimal = Decimal("0")
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    tax_code: str | None = Field(default=None, max_length=64)
    account_code: str | None = Field(default=None, max_length=64)
    item_id: str | None = Field(default=None, max_length=64)
    item_code: str | None = Field(default=None, max_length=64)
    crm_product_id: PipedriveId | None = None
    kind: LineKind = "manual"
    # The deal product's own tax %, when the line comes from one: the provider's rate for the
    # line is checked against it, so a different tax is never applied without saying so.
    deal_tax_rate: Decimal | None = Field(default=None, ge=0, le=100)

    @field_validator("quantity", "unit_price", "discount_rate", "discount_amount")
    @classmethod
    def _amounts(cls, value: Decimal | None, info: object) -> Decimal | None:
        return _finite(value, getattr(info, "field_name", "amount"))

    @model_validator(mode="after")
    def _one_discount(self) -> LineBase:
        if self.discount_rate is not None and self.discount_amount is not None:
            raise ValueError("give a discount rate or a discount amount, not both")
        if self.discount_rate is not None and not (0 <= self.discount_rate <= 100):
            raise ValueError("discount_rate must be between 0 and 100")
        return self


class DraftLine(LineBase):
    item_name: str | None = None
    link_state: LinkState = "none"
    item_suggestions: list[ItemOut] = Field(default_factory=list)
    tax_rate: Decimal = Decimal("0")
    amount: Decimal = Decimal("0")
    # How a CRM discount was turned into this provider's form, in plain words.
    note: str | None = None


class LineIn(LineBase, _In):
    pass


class DiscountIn(_In):
    rate: Decimal | None = None
    amount: Decimal | None = None
    description: str | None = Field(default=None, max_length=MAX_TEXT)

    @field_validator("rate", "amount")
    @classmethod
    def _amounts(cls, value: Decimal | None, info: object) -> Decimal | None:
        return _finite(value, getattr(info, "field_name", "amount"))

    @model_validator(mode="after")
    def _one(self) -> DiscountIn:
        if (self.rate is None) == (self.amount is None):
            raise ValueError("give the discount as a rate or an amount")
        if self.rate is not None and not (0 <= self.rate <= 100):
            raise ValueError("rate must be between 0 and 100")
        if self.amount is not None and self.amount < 0:
            raise ValueError("amount must not be negative")
        return self


class TotalsOut(BaseModel):
    subtotal: Decimal
    discount: Decimal = Decimal("0")
    tax: Decimal
    total: Decimal
    # QuickBooks US works out sales tax itself (Automated Sales Tax): our tax is a preview.
    tax_estimated: bool = False


class DraftOut(BaseModel):
    provider: Provider
    deal_id: int
    customer: CustomerOut
    details: DetailsOut
    lines: list[DraftLine]
    global_discount: DiscountIn | None = None
    totals: TotalsOut
    checks: list[Check]
    features: dict[str, object]
    # Proves to the create call that this company read this deal (no second CRM read).
    deal_token: str | None = None


class PreviewOut(BaseModel):
    """Live totals (as the provider will compute them) and checks of a reviewed invoice."""

    totals: TotalsOut
    line_amounts: list[Decimal]
    checks: list[Check]


class CustomerIn(_In):
    """The chosen contact: an existing ``contact_id``, or ``create`` one from the fields."""

    contact_id: ProviderId | None = None
    create: bool = False
    name: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=500)
    address: str | None = Field(default=None, max_length=MAX_TEXT)
    tax_id: str | None = Field(default=None, max_length=100)
    update_contact: bool = False
    crm_entity: Literal["organization", "person"] | None = None
    crm_id: PipedriveId | None = None
    # The chosen contact's currency as the dialog showed it (for the currency check).
    contact_currency: str | None = Field(default=None, min_length=3, max_length=3)

    @model_validator(mode="after")
    def _choice(self) -> CustomerIn:
        if self.create and self.contact_id:
            raise ValueError("either choose a contact_id or create a contact, not both")
        if self.create and not (self.name or "").strip():
            raise ValueError("a new contact needs a name")
        return self


# A part's number: a JSON number, or text the user typed (read in their locale).
PartNumber = Decimal | Annotated[str, Field(max_length=40)]


class PartIn(_In):
    """A part of the deal to invoice (a deposit, a milestone, the balance): exactly one of
    ``percent``, ``amount`` or ``balance``. The lines sent are the whole deal's; they are
    scaled to the part (app/invoices/rules/parts.py)."""

    percent: PartNumber | None = None
    amount: PartNumber | None = None
    balance: bool = False
    label: str | None = Field(default=None, max_length=100)
    # The Pipedrive deal installment this part invoices (offered as the parts when present).
    installment_id: PipedriveId | None = None
    # Invoice it even though it goes past what is left of the deal (seen and confirmed).
    confirm_over: bool = False

    @field_validator("percent", "amount")
    @classmethod
    def _number(cls, value: Decimal | str | None, info: object) -> Decimal | str | None:
        if isinstance(value, Decimal):
            return _finite(value, getattr(info, "field_name", "amount"))
        return value

    @model_validator(mode="after")
    def _one(self) -> PartIn:
        given = [self.percent is not None, self.amount is not None, self.balance]
        if sum(given) != 1:
            raise ValueError("give the part as a percent, an amount or the balance (one of them)")
        return self


class InvoiceIn(_In):
    """The reviewed draft the dialog sends to create the invoice."""

    provider: Provider
    customer: CustomerIn
    issue_date: date
    due_date: date | None = None
    currency: str = Field(min_length=3, max_length=3)
    tax_mode: TaxMode = TaxMode.exclusive
    tax_code: str | None = Field(default=None, max_length=64)
    template_id: str | None = Field(default=None, max_length=64)
    reference: str | None = Field(default=None, max_length=255)
    # The invoice's number, where the company numbers invoices by hand (QuickBooks custom
    # transaction numbers: ``features.invoice_number`` "mandatory"); else the provider's own.
    invoice_number: str | None = Field(default=None, max_length=255)
    lines: list[LineIn] = Field(default_factory=list, max_length=500)
    global_discount: DiscountIn | None = None
    # A zero-amount invoice is created only when the user confirmed it.
    confirm_zero: bool = False
    # The provider's tax differs from the deal's (``tax_differs``): created only when the
    # user confirmed it, having seen both totals.
    accept_tax_difference: bool = False
    # From the draft; without it (or when expired) the deal is read from the CRM first.
    deal_token: str | None = Field(default=None, max_length=1000)
    # Invoice only a part of the deal (None: the whole deal).
    part: PartIn | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return value.upper()


class InvoiceOut(BaseModel):
    """One invoice of a deal as we know it (and as the provider labels it)."""

    id: str
    provider: Provider
    # None: created without a deal (through Pipedrive's Invoicing extension).
    deal_id: int | None = None
    status: str
    provider_invoice_id: str | None = None
    number: str | None = None
    contact_id: str | None = None
    contact_name: str | None = None
    provider_status: str | None = None
    status_label: str | None = None
    currency: str
    issue_date: date | None = None
    due_date: date | None = None
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    amount_due: Decimal
    amount_paid: Decimal
    # Credit notes on it: what they credit in all (ours, or the provider's AmountCredited when
    # larger), and whether more may be credited now (issued, part paid or paid, and not all
    # credited yet).
    amount_credited: Decimal = Decimal("0")
    can_credit: bool = False
    url: str | None = None
    actions: list[dict[str, object]] = Field(default_factory=list)
    failure_reason: str | None = None
    orphan_contact_id: str | None = None
    # The part of the deal it invoices ("Deposit 30 %", "Balance"); None: the whole deal.
    part_label: str | None = None


# Ids that become a segment of the provider's URL are URL-safe (``ProviderId``).
class LinkItemIn(_In):
    item_id: ProviderId


class LinkContactIn(_In):
    contact_id: ProviderId


class CreateItemIn(_In):
    name: str = Field(min_length=1, max_length=500)
    code: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=MAX_TEXT)
    unit_price: Decimal | None = None
    account_code: str | None = Field(default=None, max_length=64)
    tax_code: str | None = Field(default=None, max_length=64)
    crm_product_id: PipedriveId | None = None

    @field_validator("unit_price")
    @classmethod
    def _price(cls, value: Decimal | None) -> Decimal | None:
        return _finite(value, "unit_price")


class CreateContactIn(_In):
    name: str = Field(min_length=1, max_length=500)
    email: str | None = Field(default=None, max_length=500)
    address: str | None = Field(default=None, max_length=MAX_TEXT)
    tax_id: str | None = Field(default=None, max_length=100)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    crm_entity: Literal["organization", "person"] | None = None
    crm_id: PipedriveId | None = None


class ContactUpdateIn(_In):
    """Push the CRM's address, email and tax id to the linked contact, where they differ."""

    email: str | None = Field(default=None, max_length=500)
    address: str | None = Field(default=None, max_length=MAX_TEXT)
    tax_id: str | None = Field(default=None, max_length=100)
    apply: bool = False
