"""Pure mapping between Xero JSON and our DTOs (field names from xero.md and the OpenAPI)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from app.providers.base import (
    Account,
    Address,
    Contact,
    ContactInput,
    Currency,
    Invoice,
    InvoiceDraft,
    InvoiceLine,
    InvoiceLineDraft,
    Item,
    ItemInput,
    Organisation,
    PaymentTerms,
    TaxMode,
    TaxRate,
    Template,
)
from app.providers.jsonutil import dec, dec0
from app.providers.markers import marker_in, url_with_marker, without_marker
from app.providers.money import xero_unit_amount
from app.providers.xero.spec import REVENUE_ACCOUNT_TYPES

_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def parse_datetime(value: Any) -> datetime | None:
    """Xero's ``/Date(ms+zzzz)/`` or an ISO string → aware datetime (naive ISO means UTC)."""
    if not value:
        return None
    text = str(value)
    match = _MS_DATE.fullmatch(text)
    if match:
        moment = datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
        offset = match.group(2)
        if offset:
            sign = 1 if offset[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
            moment = moment.astimezone(tz)
        return moment
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    """A Xero date (``/Date(ms)/`` at UTC midnight, or ``YYYY-MM-DD[T…]``) → date."""
    if not value:
        return None
    text = str(value)
    match = _MS_DATE.fullmatch(text)
    if match:
        # Dates travel as midnight UTC; the offset part describes the org, not the day.
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()
    return date.fromisoformat(text[:10])


def _opt(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def organisation_from_json(data: dict[str, Any]) -> Organisation:
    return Organisation(
        id=str(data["OrganisationID"]),
        name=str(data.get("Name") or data.get("LegalName") or ""),
        legal_name=_opt(data.get("LegalName")),
        base_currency=str(data.get("BaseCurrency") or ""),
        short_code=_opt(data.get("ShortCode")),
        timezone=_opt(data.get("Timezone")),
        country=_opt(data.get("CountryCode")),
        is_demo=bool(data.get("IsDemoCompany")),
    )


def currencies_from_json(items: list[dict[str, Any]], base: str | None) -> list[Currency]:
    out = [
        Currency(code=str(c["Code"]), name=str(c.get("Description") or c["Code"])) for c in items
    ]
    out = [c.model_copy(update={"is_base": c.code == base}) for c in out]
    return sorted(out, key=lambda c: (not c.is_base, c.code))


def tax_rates_from_json(items: list[dict[str, Any]]) -> list[TaxRate]:
    """Active rates that can apply to revenue (xero.md §6)."""
    out = []
    for t in items:
        if str(t.get("Status", "ACTIVE")).upper() != "ACTIVE":
            continue
        if t.get("CanApplyToRevenue") is False:
            continue
        rate = dec(t.get("EffectiveRate"))
        if rate is None:
            rate = dec0(t.get("DisplayTaxRate"))
        out.append(TaxRate(code=str(t["TaxType"]), name=str(t.get("Name") or ""), rate=rate))
    return out


def accounts_from_json(items: list[dict[str, Any]]) -> list[Account]:
    """Active revenue-class accounts; the code is what lines send as AccountCode."""
    out = []
    for a in items:
        if str(a.get("Status", "ACTIVE")).upper() != "ACTIVE" or not a.get("Code"):
            continue
        kind = str(a.get("Type") or "").upper()
        klass = str(a.get("Class") or "").upper()
        if klass != "REVENUE" and kind not in REVENUE_ACCOUNT_TYPES:
            continue
        out.append(
            Account(id=str(a["AccountID"]), code=str(a["Code"]), name=str(a["Name"]), type=kind)
        )
    return out


def templates_from_json(items: list[dict[str, Any]]) -> list[Template]:
    themes = sorted(items, key=lambda t: int(t.get("SortOrder") or 0))
    return [
        Template(
            id=str(t["BrandingThemeID"]),
            name=str(t.get("Name") or ""),
            is_default=int(t.get("SortOrder") or 0) == 0,
        )
        for t in themes
    ]


def _address_from_json(addresses: list[dict[str, Any]]) -> Address | None:
    chosen = None
    for kind in ("POBOX", "STREET"):
        chosen = next((a for a in addresses if a.get("AddressType") == kind), None)
        if chosen and any(v for k, v in chosen.items() if k != "AddressType"):
            break
    if not chosen:
        return None
    lines = tuple(
        str(chosen[k])
        for k in ("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4")
        if chosen.get(k)
    )
    address = Address(
        lines=lines,
        city=_opt(chosen.get("City")),
        region=_opt(chosen.get("Region")),
        postal_code=_opt(chosen.get("PostalCode")),
        country=_opt(chosen.get("Country")),
    )
    return None if address.is_empty() else address


def contact_from_json(data: dict[str, Any]) -> Contact:
    phone = next(
        (p for p in data.get("Phones") or [] if p.get("PhoneNumber")),
        None,
    )
    phone_text = None
    if phone:
        phone_text = " ".join(
            str(phone[k])
            for k in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber")
            if phone.get(k)
        )
    terms = (data.get("PaymentTerms") or {}).get("Sales")
    return Contact(
        id=str(data["ContactID"]),
        name=str(data.get("Name") or ""),
        email=_opt(data.get("EmailAddress")),
        first_name=_opt(data.get("FirstName")),
        last_name=_opt(data.get("LastName")),
        phone=phone_text,
        tax_number=_opt(data.get("TaxNumber")),
        currency=_opt(data.get("DefaultCurrency")),
        address=_address_from_json(data.get("Addresses") or []),
        payment_terms=PaymentTerms(day=terms.get("Day"), type=terms.get("Type")) if terms else None,
        external_ref=_opt(data.get("ContactNumber")),
        is_active=str(data.get("ContactStatus") or "ACTIVE").upper() == "ACTIVE",
    )


def contact_to_json(data: ContactInput, contact_id: str | None = None) -> dict[str, Any]:
    """A Contact element for PUT/POST /Contacts; only the given fields are sent."""
    out: dict[str, Any] = {}
    if contact_id:
        out["ContactID"] = contact_id
    for attr, key in (
        ("name", "Name"),
        ("email", "EmailAddress"),
        ("first_name", "FirstName"),
        ("last_name", "LastName"),
        ("tax_number", "TaxNumber"),
        ("currency", "DefaultCurrency"),
        ("external_ref", "ContactNumber"),
    ):
        value = getattr(data, attr)
        if value is not None:
            out[key] = value
    if data.phone is not None:
        out["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": data.phone}]
    if data.address is not None:
        address: dict[str, Any] = {"AddressType": "POBOX"}
        for index, line in enumerate(data.address.lines[:4], start=1):
            address[f"AddressLine{index}"] = line
        for attr, key in (
            ("city", "City"),
            ("region", "Region"),
            ("postal_code", "PostalCode"),
            ("country", "Country"),
        ):
            value = getattr(data.address, attr)
            if value is not None:
                address[key] = value
        out["Addresses"] = [address]
    return out


def item_from_json(data: dict[str, Any]) -> Item:
    sales = data.get("SalesDetails") or {}
    return Item(
        id=str(data["ItemID"]),
        code=_opt(data.get("Code")),
        name=str(data.get("Name") or data.get("Code") or ""),
        description=_opt(data.get("Description")),
        unit_price=dec(sales.get("UnitPrice")),
        account_code=_opt(sales.get("AccountCode")),
        tax_code=_opt(sales.get("TaxType")),
        is_sold=data.get("IsSold", True) is not False,
    )


def item_to_json(data: ItemInput, item_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if item_id:
        out["ItemID"] = item_id
    if data.code is not None:
        out["Code"] = data.code
    if data.name is not None:
        out["Name"] = data.name
    if data.description is not None:
        out["Description"] = data.description
    sales: dict[str, Any] = {}
    if data.unit_price is not None:
        sales["UnitPrice"] = xero_unit_amount(data.unit_price)
    if data.account_code is not None:
        sales["AccountCode"] = data.account_code
    if data.tax_code is not None:
        sales["TaxType"] = data.tax_code
    if sales:
        out["SalesDetails"] = sales
        out["IsSold"] = True
    return out


def line_to_json(line: InvoiceLineDraft, default_tax: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Description": line.description,
        "Quantity": line.quantity,
        "UnitAmount": xero_unit_amount(line.unit_price),
    }
    if line.item_code:
        out["ItemCode"] = line.item_code
    if line.account_code:
        out["AccountCode"] = line.account_code
    tax = line.tax_code or default_tax
    if tax:
        out["TaxType"] = tax
    if line.discount_rate is not None:
        out["DiscountRate"] = line.discount_rate
    if line.discount_amount is not None:
        out["DiscountAmount"] = line.discount_amount
    return out


def invoice_to_json(draft: InvoiceDraft) -> dict[str, Any]:
    """One ACCREC Invoice element for ``PUT /Invoices`` (xero.md §10.2-10.4)."""
    out: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": draft.contact_id},
        "Date": draft.issue_date.isoformat(),
        "LineAmountTypes": draft.tax_mode.value,
        "Status": draft.status,
        "LineItems": [line_to_json(line, draft.tax_code) for line in draft.lines],
    }
    if draft.due_date:
        out["DueDate"] = draft.due_date.isoformat()
    if draft.currency:
        out["CurrencyCode"] = draft.currency
    if draft.reference:
        out["Reference"] = draft.reference
    if draft.url:
        out["Url"] = url_with_marker(draft.url, draft.marker) if draft.marker else draft.url
    if draft.template_id:
        out["BrandingThemeID"] = draft.template_id
    if draft.invoice_number:
        out["InvoiceNumber"] = draft.invoice_number
    return out


def _line_from_json(data: dict[str, Any]) -> InvoiceLine:
    item = data.get("Item") or {}
    return InvoiceLine(
        id=_opt(data.get("LineItemID")),
        description=_opt(data.get("Description")),
        quantity=dec(data.get("Quantity")),
        unit_price=dec(data.get("UnitAmount")),
        item_id=_opt(item.get("ItemID")),
        item_code=_opt(data.get("ItemCode") or item.get("Code")),
        discount_rate=dec(data.get("DiscountRate")),
        discount_amount=dec(data.get("DiscountAmount")),
        tax_code=_opt(data.get("TaxType")),
        tax_amount=dec(data.get("TaxAmount")),
        account_code=_opt(data.get("AccountCode")),
        amount=dec0(data.get("LineAmount")),
    )


def invoice_from_json(data: dict[str, Any]) -> Invoice:
    contact = data.get("Contact") or {}
    mode = data.get("LineAmountTypes")
    paid = dec0(data.get("AmountPaid"))
    credited = dec0(data.get("AmountCredited"))
    payments = data.get("Payments") or []
    credits = data.get("CreditNotes") or []
    prepayments = (data.get("Prepayments") or []) + (data.get("Overpayments") or [])
    return Invoice(
        id=str(data["InvoiceID"]),
        number=_opt(data.get("InvoiceNumber")),
        contact_id=_opt(contact.get("ContactID")),
        contact_name=_opt(contact.get("Name")),
        status=str(data.get("Status") or "DRAFT").upper(),
        issue_date=parse_date(data.get("DateString") or data.get("Date")),
        due_date=parse_date(data.get("DueDateString") or data.get("DueDate")),
        currency=str(data.get("CurrencyCode") or ""),
        tax_mode=TaxMode(mode) if mode in {m.value for m in TaxMode} else None,
        subtotal=dec0(data.get("SubTotal")),
        total_tax=dec0(data.get("TotalTax")),
        total=dec0(data.get("Total")),
        amount_paid=paid,
        amount_due=dec0(data.get("AmountDue")),
        amount_credited=credited,
        paid_date=parse_date(data.get("FullyPaidOnDate")),
        has_payments=bool(payments or credits or prepayments) or paid > 0 or credited > 0,
        lines=tuple(_line_from_json(x) for x in data.get("LineItems") or []),
        reference=_opt(data.get("Reference")),
        url=without_marker(_opt(data.get("Url"))),
        marker=marker_in(_opt(data.get("Url"))),
        template_id=_opt(data.get("BrandingThemeID")),
        updated_at=parse_datetime(data.get("UpdatedDateUTC")),
        is_sent=bool(data.get("SentToContact")),
    )
