"""Pure mapping between QuickBooks Online JSON and our DTOs (quickbooks.md, XSD names)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from app.providers.base import (
    Account,
    Address,
    Contact,
    ContactInput,
    Currency,
    Features,
    Invoice,
    InvoiceDraft,
    InvoiceLine,
    Item,
    ItemInput,
    Organisation,
    PaymentTerms,
    TaxRate,
)
from app.providers.errors import FieldMessage
from app.providers.jsonutil import dec, dec0
from app.providers.money import qbo_discount, qbo_line_amount
from app.providers.quickbooks.spec import INCOME_ACCOUNT_TYPES, TAX_CALCULATION, features

ZERO = Decimal("0")
# Tax ids are allowlist-gated in QuickBooks (quickbooks.md §9, UNCONFIRMED for normal apps),
# so we keep the customer's tax number in Notes behind this prefix and read either place.
TAX_NOTE_PREFIX = "Tax ID: "


def _opt(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _ref(value: Any) -> str | None:
    return _opt(value.get("value")) if isinstance(value, dict) else None


def parse_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def quote(value: str) -> str:
    """A string literal for the query language: backslash-escape quotes and backslashes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def is_us(country: str | None) -> bool:
    return (country or "").upper() in {"US", "USA", "UNITED STATES"}


def organisation_from_json(
    realm_id: str, company: dict[str, Any], preferences: dict[str, Any]
) -> Organisation:
    prefs = preferences.get("CurrencyPrefs") or {}
    home = _ref(prefs.get("HomeCurrency")) or "USD"
    return Organisation(
        id=realm_id,
        name=str(company.get("CompanyName") or company.get("LegalName") or ""),
        legal_name=_opt(company.get("LegalName")),
        base_currency=home,
        short_code=None,
        timezone=_opt(company.get("DefaultTimeZone")),
        country=_opt(company.get("Country")),
    )


def features_from_json(company: dict[str, Any], preferences: dict[str, Any]) -> Features:
    tax = preferences.get("TaxPrefs") or {}
    sales = preferences.get("SalesFormsPrefs") or {}
    currency = preferences.get("CurrencyPrefs") or {}
    return features(
        us_sales_tax=is_us(company.get("Country")) or bool(tax.get("PartnerTaxEnabled")),
        # Whether AllowDiscount gates discount lines is UNCONFIRMED: only an explicit False does.
        allow_discount=sales.get("AllowDiscount") is not False,
        custom_numbers=bool(sales.get("CustomTxnNumbers")),
        multi_currency=bool(currency.get("MultiCurrencyEnabled")),
    )


def currencies_from_json(home: str, company_currencies: list[dict[str, Any]]) -> list[Currency]:
    out = [Currency(code=home, name=home, is_base=True)]
    for c in company_currencies:
        code = _opt(c.get("Code"))
        if code and code != home and c.get("Active", True) is not False:
            out.append(Currency(code=code, name=str(c.get("Name") or code)))
    return out


def customer_currencies(customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Distinct customer currencies, shaped like CompanyCurrency rows."""
    seen: dict[str, str] = {}
    for customer in customers:
        ref = customer.get("CurrencyRef") or {}
        code = _opt(ref.get("value"))
        if code and code not in seen:
            seen[code] = str(ref.get("name") or code)
    return [{"Code": code, "Name": name} for code, name in sorted(seen.items())]


def tax_rates_from_json(
    codes: list[dict[str, Any]], rates: list[dict[str, Any]], *, us_sales_tax: bool
) -> list[TaxRate]:
    """Sales tax codes with their rate: the sum of the sales rates they reference."""
    by_id = {str(r.get("Id")): dec0(r.get("RateValue")) for r in rates}
    out = []
    for code in codes:
        if code.get("Active") is False or code.get("Hidden") is True:
            continue
        ident = str(code["Id"])
        details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
        if details:
            rate = sum((by_id.get(str(_ref(d.get("TaxRateRef")))) or ZERO for d in details), ZERO)
            out.append(TaxRate(code=ident, name=str(code.get("Name") or ident), rate=rate))
        elif us_sales_tax and ident in {"TAX", "NON"}:
            out.append(
                TaxRate(
                    code=ident,
                    name=str(code.get("Name") or ident),
                    rate=ZERO,
                    rate_decided_by_provider=ident == "TAX",
                )
            )
        elif not (code.get("PurchaseTaxRateList") or {}).get("TaxRateDetail"):
            # A code with no rates at all (e.g. an exempt code) is a 0 % sales option.
            out.append(TaxRate(code=ident, name=str(code.get("Name") or ident), rate=ZERO))
    return out


def accounts_from_json(items: list[dict[str, Any]]) -> list[Account]:
    return [
        Account(
            id=str(a["Id"]),
            code=str(a["Id"]),
            name=str(a.get("FullyQualifiedName") or a.get("Name") or ""),
            type=str(a.get("AccountType") or ""),
        )
        for a in items
        if a.get("Active", True) is not False
        and (
            str(a.get("AccountType") or "") in INCOME_ACCOUNT_TYPES
            or str(a.get("Classification") or "") == "Revenue"
        )
    ]


_ADDRESS_LINES = ("Line1", "Line2", "Line3", "Line4", "Line5")


def _address_from_json(data: dict[str, Any] | None) -> Address | None:
    if not data:
        return None
    address = Address(
        lines=tuple(
            str(data[k]) for k in ("Line1", "Line2", "Line3", "Line4", "Line5") if data.get(k)
        ),
        city=_opt(data.get("City")),
        region=_opt(data.get("CountrySubDivisionCode")),
        postal_code=_opt(data.get("PostalCode")),
        country=_opt(data.get("Country")),
    )
    return None if address.is_empty() else address


def _address_to_json(address: Address) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, line in enumerate(address.lines[:5], start=1):
        out[f"Line{index}"] = line
    for attr, key in (
        ("city", "City"),
        ("region", "CountrySubDivisionCode"),
        ("postal_code", "PostalCode"),
        ("country", "Country"),
    ):
        value = getattr(address, attr)
        if value is not None:
            out[key] = value
    return out


def _tax_number(data: dict[str, Any]) -> str | None:
    if data.get("PrimaryTaxIdentifier"):
        return str(data["PrimaryTaxIdentifier"])
    for line in str(data.get("Notes") or "").splitlines():
        if line.startswith(TAX_NOTE_PREFIX):
            return line[len(TAX_NOTE_PREFIX) :].strip() or None
    return None


def contact_from_json(data: dict[str, Any]) -> Contact:
    terms = data.get("SalesTermRef")
    return Contact(
        id=str(data["Id"]),
        name=str(data.get("DisplayName") or data.get("CompanyName") or ""),
        email=_opt((data.get("PrimaryEmailAddr") or {}).get("Address")),
        first_name=_opt(data.get("GivenName")),
        last_name=_opt(data.get("FamilyName")),
        phone=_opt((data.get("PrimaryPhone") or {}).get("FreeFormNumber")),
        tax_number=_tax_number(data),
        currency=_ref(data.get("CurrencyRef")),
        address=_address_from_json(data.get("BillAddr")),
        payment_terms=PaymentTerms(term_id=_ref(terms), name=_opt(terms.get("name")))
        if isinstance(terms, dict)
        else None,
        is_active=data.get("Active", True) is not False,
        sync_token=_opt(data.get("SyncToken")),
    )


def contact_to_json(data: ContactInput, current_notes: str | None = None) -> dict[str, Any]:
    """Customer fields to send; on update merge into a sparse body with Id and SyncToken."""
    out: dict[str, Any] = {}
    if data.name is not None:
        # DisplayName may not contain ":" (it separates parent and job names).
        out["DisplayName"] = data.name.replace(":", "-")
        out["CompanyName"] = data.name
    if data.email is not None:
        out["PrimaryEmailAddr"] = {"Address": data.email}
    if data.first_name is not None:
        out["GivenName"] = data.first_name
    if data.last_name is not None:
        out["FamilyName"] = data.last_name
    if data.phone is not None:
        out["PrimaryPhone"] = {"FreeFormNumber": data.phone}
    if data.currency is not None:
        out["CurrencyRef"] = {"value": data.currency}
    if data.address is not None:
        out["BillAddr"] = _address_to_json(data.address)
    if data.tax_number is not None:
        kept = [
            line
            for line in (current_notes or "").splitlines()
            if not line.startswith(TAX_NOTE_PREFIX)
        ]
        if data.tax_number:
            kept.append(TAX_NOTE_PREFIX + data.tax_number)
        out["Notes"] = "\n".join(kept)
    return out


def item_from_json(data: dict[str, Any]) -> Item:
    return Item(
        id=str(data["Id"]),
        name=str(data.get("Name") or ""),
        code=_opt(data.get("Sku")),
        description=_opt(data.get("Description")),
        unit_price=dec(data.get("UnitPrice")),
        account_code=_ref(data.get("IncomeAccountRef")),
        tax_code=_ref(data.get("SalesTaxCodeRef")),
        is_active=data.get("Active", True) is not False,
        sync_token=_opt(data.get("SyncToken")),
    )


def item_to_json(data: ItemInput) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if data.name is not None:
        out["Name"] = data.name
    if data.code is not None:
        out["Sku"] = data.code
    if data.description is not None:
        out["Description"] = data.description
    if data.unit_price is not None:
        out["UnitPrice"] = data.unit_price
    if data.account_code is not None:
        out["IncomeAccountRef"] = {"value": data.account_code}
    if data.tax_code is not None:
        out["SalesTaxCodeRef"] = {"value": data.tax_code}
    return out


def draft_errors(draft: InvoiceDraft, feats: Features | None = None) -> list[FieldMessage]:
    """What QuickBooks cannot take from this draft, found before calling it."""
    errors = []
    for index, line in enumerate(draft.lines):
        if line.discount_rate is not None or line.discount_amount is not None:
            errors.append(
                FieldMessage(
                    "QuickBooks has no line discounts; use an invoice discount instead.",
                    f"lines[{index}].discount_rate",
                )
            )
    if draft.template_id:
        errors.append(FieldMessage("QuickBooks invoices have no templates.", "template_id"))
    if draft.invoice_number and len(draft.invoice_number) > 21:
        errors.append(
            FieldMessage("A QuickBooks invoice number has at most 21 characters.", "invoice_number")
        )
    discount = draft.global_discount
    if discount and discount.rate is not None and discount.amount is not None:
        errors.append(
            FieldMessage("Give the discount as a rate or an amount, not both.", "global_discount")
        )
    if feats and draft.tax_mode not in feats.tax_modes:
        errors.append(
            FieldMessage(
                f"This QuickBooks company does not support {draft.tax_mode.value} amounts.",
                "tax_mode",
            )
        )
    return errors


def invoice_to_json(draft: InvoiceDraft) -> dict[str, Any]:
    """The Invoice body for ``POST /invoice`` (quickbooks.md §3.2, §3.4).

    Amount = Qty x UnitPrice on every line (error 6070 otherwise); an invoice discount becomes a
    DiscountLineDetail line. QuickBooks has no draft state: every created invoice is open.
    """
    lines: list[dict[str, Any]] = []
    subtotal = ZERO
    for line in draft.lines:
        amount = qbo_line_amount(line.quantity, line.unit_price)
        subtotal += amount
        detail: dict[str, Any] = {"Qty": line.quantity, "UnitPrice": line.unit_price}
        if line.item_id:
            detail["ItemRef"] = {"value": line.item_id}
        tax = line.tax_code or draft.tax_code
        if tax:
            detail["TaxCodeRef"] = {"value": tax}
        if line.account_code:
            detail["ItemAccountRef"] = {"value": line.account_code}
        lines.append(
            {
                "Amount": amount,
                "Description": line.description,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": detail,
            }
        )
    discount = draft.global_discount
    if discount and (discount.rate is not None or discount.amount is not None):
        discount_detail: dict[str, Any] = {"PercentBased": discount.rate is not None}
        if discount.rate is not None:
            discount_detail["DiscountPercent"] = discount.rate
        if discount.account_code:
            discount_detail["DiscountAccountRef"] = {"value": discount.account_code}
        lines.append(
            {
                "Amount": qbo_discount(subtotal, discount.rate, discount.amount),
                "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": discount_detail,
            }
        )
    out: dict[str, Any] = {
        "CustomerRef": {"value": draft.contact_id},
        "TxnDate": draft.issue_date.isoformat(),
        "GlobalTaxCalculation": TAX_CALCULATION[draft.tax_mode],
        "Line": lines,
    }
    if draft.due_date:
        out["DueDate"] = draft.due_date.isoformat()
    if draft.currency:
        out["CurrencyRef"] = {"value": draft.currency}
    if draft.invoice_number:
        out["DocNumber"] = draft.invoice_number
    note = "\n".join(x for x in (draft.reference, draft.url) if x)
    if note:
        out["PrivateNote"] = note[:4000]
    if draft.memo:
        out["CustomerMemo"] = {"value": draft.memo[:1000]}
    if draft.bill_email:
        out["BillEmail"] = {"Address": draft.bill_email}
    return out


def _line_from_json(data: dict[str, Any]) -> InvoiceLine | None:
    kind = data.get("DetailType")
    if kind == "SubTotalLineDetail":
        return None
    if kind == "DiscountLineDetail":
        detail = data.get("DiscountLineDetail") or {}
        return InvoiceLine(
            id=_opt(data.get("Id")),
            description=_opt(data.get("Description")),
            discount_rate=dec(detail.get("DiscountPercent"))
            if detail.get("PercentBased")
            else None,
            discount_amount=dec0(data.get("Amount")),
            account_code=_ref(detail.get("DiscountAccountRef")),
            amount=dec0(data.get("Amount")),
            kind="discount",
        )
    if kind == "SalesItemLineDetail":
        detail = data.get("SalesItemLineDetail") or {}
        return InvoiceLine(
            id=_opt(data.get("Id")),
            description=_opt(data.get("Description")),
            quantity=dec(detail.get("Qty")),
            unit_price=dec(detail.get("UnitPrice")),
            item_id=_ref(detail.get("ItemRef")),
            tax_code=_ref(detail.get("TaxCodeRef")),
            account_code=_ref(detail.get("ItemAccountRef")),
            amount=dec0(data.get("Amount")),
        )
    return InvoiceLine(
        id=_opt(data.get("Id")),
        description=_opt(data.get("Description")),
        amount=dec0(data.get("Amount")),
        kind="description",
    )


def lifecycle_status(data: dict[str, Any]) -> str:
    """ACTIVE, VOIDED or DELETED (quickbooks.md §8): QuickBooks has no status field.

    A void zeroes the amounts and prepends "Voided" to PrivateNote; a delete leaves only
    ``status: Deleted`` (CDC) or answers 610 (read).
    """
    if str(data.get("status") or "").lower() == "deleted":
        return "DELETED"
    if str(data.get("status") or "").lower() == "voided":
        return "VOIDED"
    if (
        dec0(data.get("TotalAmt")) == ZERO
        and dec0(data.get("Balance")) == ZERO
        and str(data.get("PrivateNote") or "").startswith("Voided")
    ):
        return "VOIDED"
    return "ACTIVE"


def invoice_from_json(data: dict[str, Any]) -> Invoice:
    total = dec0(data.get("TotalAmt"))
    balance = dec0(data.get("Balance"))
    raw_lines = data.get("Line") or []
    lines = tuple(x for x in (_line_from_json(line) for line in raw_lines) if x is not None)
    tax = dec0((data.get("TxnTaxDetail") or {}).get("TotalTax"))
    subtotal_line = next(
        (x for x in raw_lines if x.get("DetailType") == "SubTotalLineDetail"), None
    )
    discount = sum((x.amount for x in lines if x.kind == "discount"), ZERO)
    if subtotal_line is not None:
        subtotal = dec0(subtotal_line.get("Amount")) - discount
    else:
        subtotal = sum((x.amount for x in lines if x.kind == "item"), ZERO) - discount
    mode = {v: k for k, v in TAX_CALCULATION.items()}.get(str(data.get("GlobalTaxCalculation")))
    linked = data.get("LinkedTxn") or []
    paid = total - balance if total > balance else ZERO
    customer = data.get("CustomerRef") or {}
    return Invoice(
        id=str(data["Id"]),
        number=_opt(data.get("DocNumber")),
        contact_id=_ref(customer),
        contact_name=_opt(customer.get("name")) if isinstance(customer, dict) else None,
        status=lifecycle_status(data),
        issue_date=parse_date(data.get("TxnDate")),
        due_date=parse_date(data.get("DueDate")),
        currency=_ref(data.get("CurrencyRef")) or "",
        tax_mode=mode,
        subtotal=subtotal,
        total_tax=tax,
        total=total,
        amount_paid=paid,
        amount_due=balance,
        has_payments=paid > ZERO or any(str(t.get("TxnType")) == "Payment" for t in linked),
        lines=lines,
        reference=_opt(data.get("PrivateNote")),
        updated_at=parse_datetime((data.get("MetaData") or {}).get("LastUpdatedTime")),
        is_sent=str(data.get("EmailStatus") or "") == "EmailSent"
        or str(data.get("EInvoiceStatus") or "") in {"Sent", "Viewed", "Delivered"},
        online_url=_opt(data.get("InvoiceLink")),
        bill_email=_opt((data.get("BillEmail") or {}).get("Address")),
        sync_token=_opt(data.get("SyncToken")),
    )


def select(
    entity: str,
    *,
    where: list[str] | None = None,
    columns: str = "*",
    order: str | None = None,
    start: int | None = None,
    max_results: int = 1000,
) -> str:
    """A QuickBooks query statement. Clauses are built by our code from ``quote``d values."""
    parts = [f"SELECT {columns} FROM {entity}"]  # noqa: S608 - QBO query language, values quoted
    if where:
        parts.append("WHERE " + " AND ".join(where))
    if order:
        parts.append(f"ORDERBY {order}")
    if start is not None:
        parts.append(f"STARTPOSITION {start}")
    parts.append(f"MAXRESULTS {max_results}")
    return " ".join(parts)
