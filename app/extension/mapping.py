"""Pure mapping between our DTOs and the extension contract's types. No I/O here.

Decisions the contract leaves open (pipedrive-invoicing-extension.md §9), taken here once:

* ids: currencies by ISO code, tax rates by the code lines send (Xero TaxType, QuickBooks
  TaxCode Id), accounts by the code lines send (Xero Code, QuickBooks Id), products and
  contacts by the provider's own id.
* ``contactName`` is "usually a multi line string": its first non-empty line is the name.
* dates may be date-only or date-time; the date part is what the provider gets.
* Pipedrive sends no idempotency key, so ``postInvoice`` derives one from the link and the
  canonical body (see ``idempotency_key``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_name

from app.errors import ValidationFailed
from app.extension import schemas as pd
from app.invoices.rules.lines import fold_discount
from app.invoices.rules.meta import PROVIDER_LABEL, features_json
from app.invoices.schemas import CustomerIn, DiscountIn, InvoiceIn, InvoiceOut, LineIn
from app.providers.base import (
    Account,
    Address,
    Contact,
    ContactInput,
    Currency,
    Features,
    Invoice,
    ItemInput,
    Organisation,
    TaxMode,
    TaxRate,
    Template,
)
from app.providers.base import Item as ProviderItem

ZERO = Decimal("0")

# Pipedrive's ``taxModeId`` → ours.
TAX_MODES = {
    "Exclusive": TaxMode.exclusive,
    "Inclusive": TaxMode.inclusive,
    "NoTax": TaxMode.no_tax,
}

# Action ids Pipedrive may send for a status change → the ids our view offers (§7.8 shows
# APPROVE in its example; our actions say AUTHORISED, the intended new state).
ACTION_ALIASES = {
    "APPROVE": "AUTHORISED",
    "APPROVED": "AUTHORISED",
    "AUTHORISE": "AUTHORISED",
    "AUTHORIZE": "AUTHORISED",
    "AUTHORIZED": "AUTHORISED",
    "SUBMIT": "SUBMITTED",
    "VOID": "VOIDED",
    "DELETE": "DELETED",
    "SEND": "EMAIL",
}


def action_id(raw: str) -> str:
    """The canonical action id for what Pipedrive sent (case-insensitive, aliases folded)."""
    upper = raw.strip().upper()
    return ACTION_ALIASES.get(upper, upper)


# --- account and lookups -----------------------------------------------------------------------


def link_features(features: Features) -> pd.LinkFeatures:
    """The ``LinkFeatures`` object (§7.2) from the provider's features."""
    return pd.LinkFeatures.model_validate(features_json(features))


def link_status(organisation: Organisation, features: Features) -> pd.LinkStatus:
    return pd.LinkStatus(
        authorized=True,
        name=organisation.name,
        orgId=organisation.id,
        features=link_features(features),
    )


def currency(c: Currency) -> pd.InvoiceCurrency:
    # QuickBooks names currencies by their code only: a readable name for the modal.
    name = c.name if c.name and c.name != c.code else get_currency_name(c.code, locale="en")
    return pd.InvoiceCurrency(id=c.code, name=name)


def tax_rate(t: TaxRate) -> pd.InvoiceTaxRate:
    return pd.InvoiceTaxRate(id=t.code, name=t.name, rate=t.rate)


def account(a: Account) -> pd.InvoiceAccount:
    return pd.InvoiceAccount(id=a.code, name=a.name)


def template(t: Template) -> pd.InvoiceTemplate:
    return pd.InvoiceTemplate(id=t.id, name=t.name)


# --- products ----------------------------------------------------------------------------------


def product(item: ProviderItem, currency_code: str | None = None) -> pd.Product:
    return pd.Product(
        id=item.id,
        name=item.name,
        description=item.description,
        code=item.code,
        accountId=item.account_code,
        taxRateId=item.tax_code,
        unitPrice=item.unit_price,
        # Items carry no currency of their own: their price is in the base currency.
        currency=currency_code if item.unit_price is not None else None,
    )


def check_lengths(fields: Iterable[tuple[str, str | None, int]], what: str = "") -> None:
    """Each (field, value, maximum length): 422 naming the first field that is too long."""
    for name, value, limit in fields:
        if value is not None and len(value) > limit:
            raise ValidationFailed(
                f"{what}{name} is {len(value)} characters long; at most {limit} are allowed.",
                field=name,
            )


def check_product_limits(body: pd.ProductIn, features: Features) -> None:
    """``validations.product.*.maxLength`` as announced in LinkFeatures: 422 naming the field."""
    limits = features.limits
    check_lengths(
        (
            ("name", body.name, limits.item_name),
            ("code", body.code, limits.item_code),
            ("description", body.description, limits.item_description),
        ),
        what="The product ",
    )


def item_input(body: pd.ProductIn) -> ItemInput:
    return ItemInput(
        name=body.name.strip() if body.name else None,
        code=body.code or None,
        description=body.description,
        unit_price=body.unitPrice,
        account_code=body.accountId or None,
        tax_code=body.taxRateId or None,
    )


# --- contacts ----------------------------------------------------------------------------------


def contact(c: Contact, url: str | None = None) -> pd.Contact:
    address = c.address
    lines = list(address.lines) if address else []
    if address and address.region:
        lines.append(address.region)
    return pd.Contact(
        id=c.id,
        displayName=c.name,
        address="\n".join(line for line in lines if line) or None,
        postalCode=address.postal_code if address else None,
        city=address.city if address else None,
        country=address.country if address else None,
        email=c.email,
        phone=c.phone,
        taxId=c.tax_number,
        url=url,
    )


def contact_input(body: pd.ContactIn) -> ContactInput:
    """Only the fields Pipedrive sent; on update the others stay as they are."""
    has_address = any(
        v is not None for v in (body.address, body.postalCode, body.city, body.country)
    )
    address = (
        Address(
            lines=tuple(line.strip() for line in (body.address or "").splitlines() if line.strip()),
            city=body.city or None,
            postal_code=body.postalCode or None,
            country=body.country or None,
        )
        if has_address
        else None
    )
    return ContactInput(
        name=body.displayName.strip() if body.displayName else None,
        email=body.email or None,
        phone=body.phone or None,
        tax_number=body.taxId or None,
        address=address,
    )


# --- invoices ----------------------------------------------------------------------------------


def parse_date(value: str | None, field: str) -> date | None:
    """A date-only or date-time ISO 8601 string → its date part (422 naming the field)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text[:10]) if len(text) == 10 else _datetime_date(text)
    except ValueError as exc:
        raise ValidationFailed(f"{field} must be an ISO 8601 date.", field=field) from exc


def _datetime_date(text: str) -> date:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


def contact_name(raw: str) -> str:
    return next((line.strip() for line in raw.splitlines() if line.strip()), "")


def idempotency_key(link_id: str, body: Mapping[str, Any], deal_id: int | None = None) -> str:
    """Pipedrive sends no key: the hash of the link and the canonical body stands in, so a
    retried identical postInvoice (same link, same content, which includes the issue date)
    finds the first one instead of creating a second. Two deliberately identical invoices on
    the same day therefore need some difference (a line, a due date)."""
    named: dict[str, Any] = {"link": link_id, "body": body}
    if deal_id is not None:
        named["deal"] = deal_id
    canonical = json.dumps(named, sort_keys=True, default=str)
    return "pd-ext:" + hashlib.sha256(canonical.encode()).hexdigest()


def invoice_in(
    data: pd.InvoiceCreateData,
    *,
    provider: str,
    features: Features,
    base_currency: str,
    item_codes: Mapping[str, str],
    item_ids: Mapping[str, str],
) -> InvoiceIn:
    """InvoiceCreateData → the reviewed invoice our create flow takes.

    ``item_codes`` maps a productId to its code (for providers whose lines name items by code);
    ``item_ids`` maps a productCode to its id (for those whose lines name items by id).
    """
    issue = parse_date(data.issueDate, "issueDate")
    assert issue is not None
    name = contact_name(data.contactName)
    if not data.contactId and not name:
        raise ValidationFailed("contactName must name the customer.", field="contactName")
    discount = discount_in(data.globalDiscount)
    lines = [
        line_in(index, line, features, provider, item_codes, item_ids)
        for index, line in enumerate(data.lineItems)
    ]
    customer = customer_in(data, name)
    return InvoiceIn(
        provider=provider,
        customer=customer,
        issue_date=issue,
        due_date=parse_date(data.dueDate, "dueDate"),
        currency=(data.currencyId or base_currency).upper(),
        tax_mode=TAX_MODES[data.taxModeId],
        tax_code=data.taxRateId or None,
        template_id=data.templateId or None,
        invoice_number=(data.invoiceNumber or "").strip() or None,
        lines=lines,
        global_discount=discount,
    )


def discount_in(g: pd.GlobalDiscountIn | None) -> DiscountIn | None:
    """The invoice discount: the percentage when Pipedrive sent one, else the amount."""
    if g is None:
        return None
    if g.discountPercentage is not None:
        return DiscountIn(rate=g.discountPercentage)
    return DiscountIn(amount=g.discountAmount)


def line_in(
    index: int,
    line: pd.CreateInvoiceLineItem,
    features: Features,
    provider: str,
    item_codes: Mapping[str, str],
    item_ids: Mapping[str, str],
) -> LineIn:
    """One line; its item named the way the provider's lines name items."""
    code = line.productCode or (item_codes.get(line.productId) if line.productId else None)
    item_id = line.productId or (item_ids.get(line.productCode) if line.productCode else None)
    if not line.description.strip():
        raise ValidationFailed(
            f"Line {index + 1} needs a description.", field=f"lineItems.{index}.description"
        )
    description = line.description
    quantity = line.quantity if line.quantity is not None else Decimal("1")
    price = line.unitPrice if line.unitPrice is not None else ZERO
    rate = line.discountRate or None
    if rate is not None and not features.line_discount and ZERO <= rate <= 100:
        # Folded exactly as the deal panel folds a deal product's discount, so both surfaces
        # make the same invoice (a rate out of range stays, for the check to name it).
        label = PROVIDER_LABEL.get(provider, provider)
        quantity, price, description, _ = fold_discount(
            label, quantity, price, rate, None, description
        )
        rate = None
    return LineIn(
        description=description,
        quantity=quantity,
        unit_price=price,
        discount_rate=rate,
        tax_code=line.taxRateId or None,
        account_code=line.accountId or None,
        item_id=item_id if features.line_item_key == "id" else line.productId,
        item_code=code,
        kind="product" if (line.productId or line.productCode) else "manual",
    )


def customer_in(data: pd.InvoiceCreateData, name: str) -> CustomerIn:
    """The named contact, or a new one from ``contactName`` when no contactId came."""
    if data.contactId:
        return CustomerIn(
            contact_id=data.contactId,
            email=data.email or None,
            address=data.address or None,
            tax_id=data.taxNumber or None,
        )
    return CustomerIn(
        create=True,
        name=name,
        email=data.email or None,
        address=data.address or None,
        tax_id=data.taxNumber or None,
    )


def invoice_dto(out: InvoiceOut) -> Invoice:
    """Our recorded invoice as the provider DTO the view works on (no extra provider call)."""
    return Invoice(
        id=out.provider_invoice_id or out.id,
        number=out.number,
        contact_id=out.contact_id,
        contact_name=out.contact_name,
        status=out.provider_status or "DRAFT",
        issue_date=out.issue_date,
        due_date=out.due_date,
        currency=out.currency,
        subtotal=out.subtotal,
        total_tax=out.tax,
        total=out.total,
        amount_due=out.amount_due,
        amount_paid=out.amount_paid,
        has_payments=out.amount_paid > ZERO,
    )
