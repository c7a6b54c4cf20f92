"""The contract's types (pipedrive-invoicing-extension.md §7), field names as Pipedrive spells
them. Requests are lenient (unknown keys ignored: Pipedrive may send more than the page shows);
responses are built from these models, so a test can validate every body against them.

Amounts are Decimal inside and leave as JSON numbers, which is what the contract's ``number``
means.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

Number = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
PipedriveStatusCode = Literal[
    "draft", "created", "issued", "paid", "voided", "deleted", "partiallyPaid"
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- §7.2 / §7.1 ---------------------------------------------------------------------------


class TaxModeOptions(_Out):
    taxExclusive: bool
    taxInclusive: bool
    noTax: bool


class DiscountOptions(_Out):
    globalDiscount: bool
    lineDiscount: bool


class MaxLength(_Out):
    maxLength: int


class ProductValidations(_Out):
    name: MaxLength
    code: MaxLength
    description: MaxLength


class Validations(_Out):
    product: ProductValidations


class LinkFeatures(_Out):
    invoiceTaxModeOptions: TaxModeOptions
    invoiceTaxOption: Literal["single", "multiple"]
    invoiceDiscountOptions: DiscountOptions
    invoiceNumberOption: Literal["none", "mandatory"]
    validations: Validations


class LinkStatus(_Out):
    authorized: bool
    name: str | None = None
    orgId: str | None = None
    features: LinkFeatures | None = None


class LinkAuthURL(_Out):
    url: str


# --- §7.4 / §7.5 ---------------------------------------------------------------------------


class GlobalDiscountIn(_In):
    discountAmount: Decimal
    discountPercentage: Decimal | None = None


class CreateInvoiceLineItem(_In):
    productId: str | None = None
    productCode: str | None = None
    description: str
    quantity: Decimal | None = None
    unitPrice: Decimal | None = None
    discountRate: Decimal | None = None
    taxRateId: str | None = None
    accountId: str | None = None


class InvoiceCreateData(_In):
    contactId: str | None = None
    contactName: str
    address: str = ""
    email: str = ""
    taxNumber: str = ""
    taxModeId: Literal["Inclusive", "Exclusive", "NoTax"]
    globalDiscount: GlobalDiscountIn | None = None
    taxRateId: str | None = None
    templateId: str | None = None
    currencyId: str | None = None
    invoiceNumber: str | None = None
    # Date-only or date-time (UNCONFIRMED which Pipedrive sends); parsed in mapping.
    issueDate: str
    dueDate: str | None = None
    lineItems: list[CreateInvoiceLineItem] = Field(max_length=500)


# --- §7.6 / §7.8 ---------------------------------------------------------------------------


class InvoiceAction(_Out):
    id: str
    label: str
    providerAction: str
    requireConfirmation: Literal["regular", "destructive"] | None = None


class ActionIn(_In):
    """The body of postInvoiceStatus / postInvoiceEmail: only ``id`` is relied on (§8.4)."""

    id: str = Field(min_length=1, max_length=64)
    label: str | None = None
    providerAction: str | None = None


class Invoice(_Out):
    id: str
    invoiceNumber: str
    contactName: str
    statusCode: str
    statusLabel: str
    pipedriveStatusCode: PipedriveStatusCode
    total: Number
    paidAmount: Number | None = None
    dueAmount: Number | None = None
    currencyCode: str
    dueDate: str | None = None
    paidDate: str | None = None
    actions: list[InvoiceAction]
    providerInvoiceUrl: str
    isShareable: bool
    isSent: bool


# --- §7.9 lookups ------------------------------------------------------------------------------


class InvoiceCurrency(_Out):
    id: str
    name: str


class InvoiceTaxRate(_Out):
    id: str
    name: str
    rate: Number


class InvoiceAccount(_Out):
    id: str
    name: str


class InvoiceTemplate(_Out):
    id: str
    name: str


class SummaryRow(_Out):
    currency: str
    outstanding: Number
    overdue: Number
    paid: Number
    total: Number


# --- §7.10 / §7.11 -----------------------------------------------------------------------------


class Product(_Out):
    id: str
    name: str
    description: str | None = None
    code: str | None = None
    accountId: str | None = None
    taxRateId: str | None = None
    unitPrice: Number | None = None
    currency: str | None = None


class ProductIn(_In):
    """postProduct / putProduct body: a Product without (or ignoring) ``id``."""

    name: str | None = None
    description: str | None = None
    code: str | None = None
    accountId: str | None = None
    taxRateId: str | None = None
    unitPrice: Decimal | None = None
    currency: str | None = None


class Contact(_Out):
    id: str
    displayName: str
    address: str | None = None
    postalCode: str | None = None
    city: str | None = None
    country: str | None = None
    email: str | None = None
    phone: str | None = None
    taxId: str | None = None
    url: str | None = None


class ContactIn(_In):
    """postContact / putContact body: a Contact without (or ignoring) ``id``."""

    displayName: str | None = None
    address: str | None = None
    postalCode: str | None = None
    city: str | None = None
    country: str | None = None
    email: str | None = None
    phone: str | None = None
    taxId: str | None = None


class Envelope(BaseModel):
    """``{"success": true, "data": …}``; failures add ``error`` in plain words (§6)."""

    success: bool
    data: Any = None
    error: str | None = None
