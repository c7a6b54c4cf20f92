"""Reading an invoice's line items as Xero does (xero.md sections 5, 10.4): amounts from
quantity, unit amount or line amount, discounts (ACCREC only), the account, the tax rate and the
per-line tax. Every problem is collected so the whole invoice is refused before any write."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.xero import rules
from sandbox.xero.api.items import find_item
from sandbox.xero.state import XeroState, new_id


@dataclass
class LineContext:
    """What every line of one invoice is read against."""

    state: XeroState
    tenant: str
    inv_type: str
    amount_types: str
    unitdp: int
    org: dict[str, Any]


@dataclass
class Amounts:
    qty: Decimal
    unit_amount: Decimal
    amount: Decimal
    discount: Decimal
    rate: Decimal | None
    discount_amount: Decimal | None
    tax_override: Decimal | None


def number(line: dict[str, Any], key: str, errors: list[str]) -> Decimal | None:
    try:
        return rules.to_decimal(line.get(key))
    except ValueError:
        errors.append(f"{key} must be a number")
        return None


def build_lines(
    state: XeroState,
    tenant: str,
    inv_type: str,
    raw_lines: list[Any],
    amount_types: str,
    unitdp: int,
    errors: list[str],
) -> tuple[list[dict[str, Any]], list[rules.LineResult]]:
    """The stored lines and their amounts; problems go to ``errors`` (a bad line is skipped)."""
    ctx = LineContext(state, tenant, inv_type, amount_types, unitdp, state.org(tenant) or {})
    lines: list[dict[str, Any]] = []
    results: list[rules.LineResult] = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            errors.append("A line item could not be read")
            continue
        built = build_line(ctx, raw, errors)
        if built is not None:
            lines.append(built[0])
            results.append(built[1])
    return lines, results


def build_line(
    ctx: LineContext, raw: dict[str, Any], errors: list[str]
) -> tuple[dict[str, Any], rules.LineResult] | None:
    """One line, or None (with its problem in ``errors``) when it cannot be read."""
    line: dict[str, Any] = {"LineItemID": str(raw.get("LineItemID") or new_id()).lower()}
    item = None
    if raw.get("ItemCode"):
        item = find_item(ctx.state, ctx.tenant, str(raw["ItemCode"]))
        if item is None:
            # Wording UNCONFIRMED.
            errors.append(f"Item code '{raw['ItemCode']}' is not valid")
            return None
    details = (item or {}).get(
        "SalesDetails" if ctx.inv_type == "ACCREC" else "PurchaseDetails"
    ) or {}
    # Filling a line from its item is UNCONFIRMED (xero.md 5); only missing fields are filled.
    description = (
        raw.get("Description") or (item or {}).get("Description") or (item or {}).get("Name")
    )
    if not description:
        errors.append("Description must be specified for every line item")  # UNCONFIRMED wording
        return None
    amounts = line_amounts(ctx, raw, details, errors)
    if amounts is None:
        return None
    found = line_account(ctx, raw, details, errors)
    if found is None:
        return None
    account_code, account = found
    tax_rate = line_tax_rate(ctx, raw, details, account, account_code, errors)
    if tax_rate is None:
        return None
    tax = rules.line_tax(amounts.amount, Decimal(tax_rate["EffectiveRate"]), ctx.amount_types)
    if amounts.tax_override is not None and ctx.amount_types != "NoTax":
        tax = rules.money(amounts.tax_override)  # "auto-calculated, can be overridden" (10.4)
    line.update(
        Description=str(description),
        Quantity=str(amounts.qty),
        UnitAmount=str(amounts.unit_amount),
        TaxType=tax_rate["TaxType"],
        TaxAmount=str(tax),
        LineAmount=str(amounts.amount),
    )
    describe_line(line, raw, amounts, account_code, account, item)
    return line, rules.LineResult(amounts.amount, tax, amounts.discount)


def line_amounts(
    ctx: LineContext, raw: dict[str, Any], details: dict[str, Any], errors: list[str]
) -> Amounts | None:
    """Quantity, unit amount, discount and line amount; None when they do not add up."""
    qty = number(raw, "Quantity", errors)
    unit_amount = number(raw, "UnitAmount", errors)
    given_amount = number(raw, "LineAmount", errors)
    rate = number(raw, "DiscountRate", errors)
    discount_amount = number(raw, "DiscountAmount", errors)
    tax_override = number(raw, "TaxAmount", errors)
    if unit_amount is None and details.get("UnitPrice") is not None:
        unit_amount = Decimal(details["UnitPrice"])
    if unit_amount is None and given_amount is not None:
        # "You may omit Qty or UnitAmount and send LineAmount instead" (xero.md 10.4).
        qty = qty if qty is not None else Decimal(1)
        unit_amount = given_amount / qty if qty else given_amount
    qty = qty if qty is not None else Decimal(1)
    unit_amount = rules.unit(unit_amount if unit_amount is not None else Decimal(0), ctx.unitdp)
    if ctx.inv_type != "ACCREC":
        rate = discount_amount = None  # discounts are ACCREC only
    try:
        amount, discount = rules.line_amount(qty, unit_amount, rate, discount_amount)
    except ValueError as exc:
        errors.append(str(exc))
        return None
    return Amounts(qty, unit_amount, amount, discount, rate, discount_amount, tax_override)


def line_account(
    ctx: LineContext, raw: dict[str, Any], details: dict[str, Any], errors: list[str]
) -> tuple[Any, dict[str, Any] | None] | None:
    """(account code, account) for the line, or None when the code names no active account."""
    account_code = raw.get("AccountCode") or details.get("AccountCode")
    if not account_code:
        return account_code, None
    accounts = ctx.state.store.all("xero:account", scope=ctx.tenant)
    account = next((a for a in accounts if a["Code"] == str(account_code)), None)
    if account is None or account["Status"] != "ACTIVE":
        errors.append(f"Account code '{account_code}' is not a valid code for this document.")
        return None
    return account_code, account


def line_tax_rate(
    ctx: LineContext,
    raw: dict[str, Any],
    details: dict[str, Any],
    account: dict[str, Any] | None,
    account_code: Any,
    errors: list[str],
) -> dict[str, Any] | None:
    """The tax rate the line uses (given, the item's, the account's or the organisation's)."""
    tax_type = raw.get("TaxType") or details.get("TaxType")
    if not tax_type:
        tax_type = (account or {}).get("TaxType") or ctx.org.get("_sales_tax_type", "NONE")
    if ctx.amount_types == "NoTax":
        tax_type = raw.get("TaxType") or "NONE"
    tax_rate = ctx.state.store.get("xero:taxrate", f"{ctx.tenant}:{str(tax_type).upper()}")
    if tax_rate is None or tax_rate["Status"] != "ACTIVE":
        errors.append(
            f"The TaxType code '{tax_type}' does not exist or cannot be used with this type "
            "of transaction."  # wording UNCONFIRMED
        )
        return None
    revenue = ctx.inv_type == "ACCREC"
    if not tax_rate["CanApplyToRevenue" if revenue else "CanApplyToExpenses"]:
        errors.append(
            f"The TaxType code '{tax_type}' cannot be used with account code "
            f"'{account_code or ''}'."
        )
        return None
    return tax_rate


def describe_line(
    line: dict[str, Any],
    raw: dict[str, Any],
    amounts: Amounts,
    account_code: Any,
    account: dict[str, Any] | None,
    item: dict[str, Any] | None,
) -> None:
    """The line's account, item, discount and tracking fields."""
    if account_code:
        line["AccountCode"] = str(account_code)
        line["AccountID"] = account["AccountID"] if account else None
    if item is not None:
        line["ItemCode"] = item["Code"]
        line["Item"] = {
            "ItemID": item["ItemID"],
            "Code": item["Code"],
            "Name": item.get("Name"),
        }
    if amounts.rate:
        line["DiscountRate"] = str(amounts.rate)
    elif amounts.discount_amount:
        line["DiscountAmount"] = str(rules.money(amounts.discount_amount))
    line["Tracking"] = raw.get("Tracking") or []
