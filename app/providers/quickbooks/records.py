"""Pure mapping between QuickBooks Online JSON and our DTOs for everything but invoices:
company, features, currencies, tax rates, accounts, customers and items; and the query language
(quickbooks.md, XSD names). Invoices are in ``mapping``."""

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
    Item,
    ItemInput,
    Organisation,
    PaymentTerms,
    TaxRate,
)
from app.providers.jsonutil import dec, dec0
from app.providers.quickbooks.spec import INCOME_ACCOUNT_TYPES, features

ZERO = Decimal("0")
# Tax ids are allowlist-gated in QuickBooks (quickbooks.md §9, UNCONFIRMED for normal apps),
# so we keep the customer's tax number in Notes behind this prefix and read either place.
TAX_NOTE_PREFIX = "Tax ID: "


def opt(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def ref(value: Any) -> str | None:
    return opt(value.get("value")) if isinstance(value, dict) else None


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
    home = ref(prefs.get("HomeCurrency")) or "USD"
    return Organisation(
        id=realm_id,
        name=str(company.get("CompanyName") or company.get("LegalName") or ""),
        legal_name=opt(company.get("LegalName")),
        base_currency=home,
        short_code=None,
        timezone=opt(company.get("DefaultTimeZone")),
        country=opt(company.get("Country")),
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
        code = opt(c.get("Code"))
        if code and code != home and c.get("Active", True) is not False:
            out.append(Currency(code=code, name=str(c.get("Name") or code)))
    return out


def customer_currencies(customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Distinct customer currencies, shaped like CompanyCurrency rows."""
    seen: dict[str, str] = {}
    for customer in customers:
        ref = customer.get("CurrencyRef") or {}
        code = opt(ref.get("value"))
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
            rate = sum((by_id.get(str(ref(d.get("TaxRateRef")))) or ZERO for d in details), ZERO)
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
        city=opt(data.get("City")),
        region=opt(data.get("CountrySubDivisionCode")),
        postal_code=opt(data.get("PostalCode")),
        country=opt(data.get("Country")),
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
        email=opt((data.get("PrimaryEmailAddr") or {}).get("Address")),
        first_name=opt(data.get("GivenName")),
        last_name=opt(data.get("FamilyName")),
        phone=opt((data.get("PrimaryPhone") or {}).get("FreeFormNumber")),
        tax_number=_tax_number(data),
        currency=ref(data.get("CurrencyRef")),
        address=_address_from_json(data.get("BillAddr")),
        payment_terms=PaymentTerms(term_id=ref(terms), name=opt(terms.get("name")))
        if isinstance(terms, dict)
        else None,
        is_active=data.get("Active", True) is not False,
        sync_token=opt(data.get("SyncToken")),
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
        code=opt(data.get("Sku")),
        description=opt(data.get("Description")),
        unit_price=dec(data.get("UnitPrice")),
        account_code=ref(data.get("IncomeAccountRef")),
        tax_code=ref(data.get("SalesTaxCodeRef")),
        is_active=data.get("Active", True) is not False,
        sync_token=opt(data.get("SyncToken")),
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
