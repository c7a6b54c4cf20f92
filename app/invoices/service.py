"""Pure rules of invoicing a deal: deal lines → provider lines, tax codes, deal discounts,
totals as the provider computes them, and the checks before sending. No I/O here.

How CRM discounts become provider discounts (decided from ``Features``):

* Xero (``line_discount``): a percentage stays ``DiscountRate``; an amount becomes
  ``DiscountAmount``. Xero has no invoice-level discount (``global_discount`` off), so a deal
  discount becomes negative "Deal discount" lines, one per tax code, the amount split in
  proportion to each tax code's lines, so that tax is reduced at the right rate.
* QuickBooks (no line discount): a line discount is folded into the unit price when
  ``quantity x new price`` gives the discounted amount to the cent; otherwise the line becomes
  quantity 1 at the discounted amount, its description saying so. A deal discount is the
  invoice's discount line (``GlobalDiscount``, rate or amount), which QuickBooks applies before
  tax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from app.crm.pipedrive.schemas import DealData, DealProduct
from app.invoices.schemas import Check, DiscountIn, DraftLine, LineBase, TotalsOut
from app.providers.base import (
    Currency,
    Features,
    GlobalDiscount,
    InvoiceDraft,
    InvoiceLineDraft,
    Organisation,
    TaxMode,
    TaxRate,
    Template,
)
from app.providers.money import (
    HUNDRED,
    ZERO,
    LineInput,
    qbo_line_amount,
    qbo_totals,
    round2,
    xero_line_amount,
    xero_totals,
)

PROVIDER_LABEL = {"xero": "Xero", "quickbooks": "QuickBooks"}
PREF_TAX_MODE = {
    "exclusive": TaxMode.exclusive,
    "inclusive": TaxMode.inclusive,
    "no_tax": TaxMode.no_tax,
}


@dataclass(frozen=True)
class ProviderMeta:
    """What the draft and the checks need to know about the connected organisation."""

    provider: str
    organisation: Organisation
    features: Features
    tax_rates: tuple[TaxRate, ...]
    currencies: tuple[Currency, ...]
    templates: tuple[Template, ...] = ()

    @property
    def label(self) -> str:
        return PROVIDER_LABEL[self.provider]

    def rate_of(self, code: str | None) -> TaxRate | None:
        return next((r for r in self.tax_rates if r.code == code), None) if code else None

    @property
    def automated_tax(self) -> bool:
        return self.features.automated_sales_tax


def fmt(amount: Decimal) -> str:
    """A number as people write it: 15, 2.5, 349.95."""
    text = format(amount.normalize(), "f")
    return text


def line_name(index: int, line: LineBase) -> str:
    return f"Line {index + 1} ({line.description.splitlines()[0][:60]})"


# --- tax ----------------------------------------------------------------------------------------


def tax_mode_for(products: Sequence[DealProduct], default: str) -> tuple[TaxMode, bool]:
    """The invoice tax mode from the products' tax methods (the preference when there are no
    products); the flag says the products mixed methods."""
    methods = {p.tax_method for p in products if p.tax_method}
    if not methods:
        return PREF_TAX_MODE.get(default, TaxMode.exclusive), False
    if methods == {"inclusive"}:
        return TaxMode.inclusive, False
    if methods == {"none"}:
        return TaxMode.no_tax, False
    return TaxMode.exclusive, len(methods) > 1


def tax_code_for(
    meta: ProviderMeta, rate: Decimal, mode: TaxMode, default: str | None
) -> str | None:
    """The provider tax code for a product's tax %: QuickBooks US TAX/NON (the provider works
    the rate out); otherwise a revenue rate of exactly that percentage, the company's default
    first. None when no such rate exists (a check then asks the user to choose)."""
    if mode is TaxMode.no_tax:
        return None
    if meta.automated_tax:
        wanted = "TAX" if rate > ZERO else "NON"
        return wanted if meta.rate_of(wanted) else None
    candidates = [r for r in meta.tax_rates if r.can_apply_to_revenue and r.rate == rate]
    for candidate in candidates:
        if candidate.code == default:
            return candidate.code
    return candidates[0].code if candidates else None


# --- lines --------------------------------------------------------------------------------------


@dataclass
class ItemChoice:
    """The provider item for a CRM product: remembered (linked) or suggested."""

    item_id: str
    item_code: str | None
    item_name: str
    state: str


def exclusive_of(
    quantity: Decimal,
    price: Decimal,
    rate: Decimal | None,
    amount: Decimal | None,
    tax: Decimal,
    description: str,
) -> tuple[Decimal, Decimal, str, str]:
    """A tax-inclusive line (its discount applied) as (quantity, unit price, description,
    note) excluding ``tax`` %. The net amount is the inclusive amount / (1 + tax %), rounded to
    the cent; the quantity stays when its unit price times the quantity gives that amount
    exactly, else the line becomes 1 x the net amount (QuickBooks requires Amount = Qty x
    UnitPrice, error 6070) and the description keeps the original quantity and price."""
    gross = quantity * price
    if rate is not None:
        gross = round2(gross * (HUNDRED - rate) / HUNDRED)
    elif amount is not None:
        gross = round2(gross - amount)
    net = round2(gross * HUNDRED / (HUNDRED + tax))
    note = f"price converted from {fmt(tax)} % tax-inclusive to tax-exclusive"
    if quantity and rate is None and amount is None:
        unit = (net / quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if quantity * unit == net:
            return quantity, Decimal(format(unit.normalize(), "f")), description, note
    original = f"{fmt(quantity)} x {fmt(price)} incl. {fmt(tax)} % tax"
    if rate is not None:
        original += f", {fmt(rate)} % discount"
    elif amount is not None:
        original += f", discount of {fmt(amount)}"
    return Decimal("1"), net, f"{description} ({original})", note


def product_line(
    meta: ProviderMeta,
    product: DealProduct,
    code: str | None,
    mode: TaxMode,
    tax_code: str | None,
    item: ItemChoice | None,
    strip_inclusive_tax: bool = False,
) -> DraftLine:
    """One enabled deal product as a provider line, its discount in the provider's form.

    ``strip_inclusive_tax``: the product's price includes its tax but the provider takes no
    tax-inclusive amounts (QuickBooks US): the line is turned into its exclusive equivalent,
    the net amount less the product's tax %, to the cent.
    """
    description = product.name or f"Product {product.product_id}"
    if product.comments:
        description = f"{description}\n{product.comments}"
    quantity, price = product.quantity, product.item_price
    rate: Decimal | None = None
    amount: Decimal | None = None
    note = None
    if product.discount and product.discount > ZERO:
        if product.discount_type == "percentage":
            rate = product.discount
        else:
            amount = product.discount
    if (rate is not None or amount is not None) and not meta.features.line_discount:
        gross = quantity * price
        net = (
            round2(gross * (HUNDRED - rate) / HUNDRED)
            if rate is not None
            else round2(gross - (amount or ZERO))
        )
        what = (
            f"{fmt(rate)} % discount" if rate is not None else f"discount of {fmt(amount or ZERO)}"
        )
        new_price = (
            (net / quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if quantity else net
        )
        # QuickBooks wants Amount = Qty x UnitPrice (error 6070); whether it rounds a finer
        # product is UNCONFIRMED, so fold only when the product is exact to the cent.
        if quantity and quantity * new_price == net:
            price = Decimal(format(new_price.normalize(), "f"))
            note = f"{what} included in the unit price ({meta.label} has no line discounts)"
        else:
            description = f"{description} ({fmt(quantity)} x {fmt(product.item_price)}, {what})"
            quantity, price = Decimal("1"), net
            note = f"{what} included in the amount ({meta.label} has no line discounts)"
        rate = amount = None
    if strip_inclusive_tax and product.tax and product.tax > ZERO:
        quantity, price, description, stripped = exclusive_of(
            quantity, price, rate, amount, product.tax, description
        )
        rate = amount = None
        note = f"{note}; {stripped}" if note else stripped
    return DraftLine(
        description=description[: meta.features.limits.line_description],
        quantity=quantity,
        unit_price=price,
        discount_rate=rate,
        discount_amount=amount,
        tax_code=tax_code,
        item_id=item.item_id if item else None,
        item_code=item.item_code if item else None,
        item_name=item.item_name if item else None,
        link_state=item.state if item else "none",
        crm_product_id=product.product_id,
        kind="product",
        note=note,
        tax_rate=rate_value(meta, tax_code),
    )


def rate_value(meta: ProviderMeta, code: str | None) -> Decimal:
    rate = meta.rate_of(code)
    return rate.rate if rate else ZERO


def deal_discount_total(subtotal: Decimal, data: DealData) -> tuple[Decimal, list[str]]:
    """The deal discounts applied in order on the running amount, and their labels."""
    running, total, labels = subtotal, ZERO, []
    for discount in data.discounts:
        if discount.type == "percentage":
            cut = round2(running * discount.amount / HUNDRED)
            labels.append(discount.description or f"{fmt(discount.amount)} %")
        else:
            cut = round2(discount.amount)
            labels.append(discount.description or fmt(discount.amount))
        total += cut
        running -= cut
    return total, labels


def global_discount_for(
    data: DealData, lines: Sequence[DraftLine], mode: TaxMode
) -> DiscountIn | None:
    """QuickBooks: the deal discounts as one invoice discount (a single percentage stays a
    rate; anything else becomes the amount)."""
    if not data.discounts:
        return None
    labels = ", ".join(d.description or "" for d in data.discounts if d.description) or None
    if len(data.discounts) == 1 and data.discounts[0].type == "percentage":
        return DiscountIn(rate=data.discounts[0].amount, description=labels)
    subtotal = sum((qbo_line_amount(x.quantity, x.unit_price) for x in lines), ZERO)
    amount, _ = deal_discount_total(subtotal, data)
    return DiscountIn(amount=amount, description=labels)


def discount_lines(
    meta: ProviderMeta, data: DealData, lines: Sequence[DraftLine], mode: TaxMode
) -> list[DraftLine]:
    """Xero: the deal discounts as negative lines, one per tax code, split in proportion."""
    if not data.discounts:
        return []
    groups: dict[str | None, Decimal] = {}
    for line in lines:
        amount = xero_line_amount(
            line.quantity, line.unit_price, line.discount_rate, line.discount_amount
        )
        groups[line.tax_code] = groups.get(line.tax_code, ZERO) + amount
    base = sum(groups.values(), ZERO)
    if base <= ZERO:
        return []
    total, labels = deal_discount_total(base, data)
    out: list[DraftLine] = []
    remaining = total
    codes = list(groups)
    for index, code in enumerate(codes):
        share = remaining if index == len(codes) - 1 else round2(total * groups[code] / base)
        remaining -= share
        if share == ZERO:
            continue
        suffix = f" ({fmt(rate_value(meta, code))} % tax)" if len(codes) > 1 and code else ""
        out.append(
            DraftLine(
                description=f"Deal discount: {', '.join(labels)}{suffix}",
                quantity=Decimal("1"),
                unit_price=-share,
                tax_code=code,
                kind="deal_discount",
                tax_rate=rate_value(meta, code),
                note="Xero has no invoice discount: sent as a negative line",
            )
        )
    return out


# --- totals -------------------------------------------------------------------------------------


def line_inputs(
    meta: ProviderMeta, lines: Sequence[LineBase], default_code: str | None
) -> list[LineInput]:
    return [
        LineInput(
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=rate_value(meta, line.tax_code or default_code),
            discount_rate=line.discount_rate,
            discount_amount=line.discount_amount,
            tax_code=line.tax_code or default_code,
        )
        for line in lines
    ]


def compute_totals(
    meta: ProviderMeta,
    lines: Sequence[LineBase],
    mode: TaxMode,
    discount: DiscountIn | None,
    default_code: str | None = None,
) -> tuple[TotalsOut, list[Decimal]]:
    """Totals exactly as the provider computes them (app.providers.money), and line amounts."""
    inputs = line_inputs(meta, lines, default_code)
    if meta.provider == "xero":
        totals = xero_totals(inputs, mode)
        return (
            TotalsOut(subtotal=totals.subtotal, tax=totals.tax, total=totals.total),
            [x.amount for x in totals.lines],
        )
    plain = [
        LineInput(x.quantity, x.unit_price, x.tax_rate, None, None, x.tax_code) for x in inputs
    ]
    totals = qbo_totals(
        plain,
        mode,
        discount_rate=discount.rate if discount else None,
        discount_amount=discount.amount if discount else None,
        # The adapter sends no ApplyTaxAfterDiscount, and QuickBooks then taxes the lines
        # before the invoice discount (quickbooks.md: false or null → tax first).
        apply_tax_after_discount=False,
    )
    estimated = meta.automated_tax and any(
        (r := meta.rate_of(x.tax_code)) is not None and r.rate_decided_by_provider for x in inputs
    )
    return (
        TotalsOut(
            subtotal=totals.subtotal + totals.discount,
            discount=totals.discount,
            tax=totals.tax,
            total=totals.total,
            tax_estimated=estimated,
        ),
        [x.amount for x in totals.lines],
    )


# --- checks -------------------------------------------------------------------------------------


@dataclass
class CheckInput:
    """What the checks look at: the invoice as it would be sent."""

    currency: str
    tax_mode: TaxMode
    tax_code: str | None
    lines: Sequence[LineBase]
    totals: TotalsOut
    contact_id: str | None
    creating_contact: bool
    contact_name: str | None
    contact_currency: str | None
    confirm_zero: bool = False
    extra: list[Check] = field(default_factory=list)


def run_checks(meta: ProviderMeta, data: CheckInput) -> list[Check]:
    """Every finding before sending, each a plain sentence naming the line or field."""
    label = meta.label
    out: list[Check] = list(data.extra)
    feats = meta.features
    if not data.contact_id and not data.creating_contact:
        out.append(
            Check(
                code="contact_missing",
                severity="error",
                field="customer",
                message=f"Choose the {label} contact to invoice, or create one.",
            )
        )
    if data.creating_contact and not (data.contact_name or "").strip():
        out.append(
            Check(
                code="contact_name_missing",
                severity="error",
                field="customer.name",
                message="The new contact needs a name.",
            )
        )
    if not data.lines:
        out.append(
            Check(
                code="no_lines",
                severity="error",
                field="lines",
                message="Add at least one line: this deal has no products to invoice.",
            )
        )
    if data.tax_mode not in feats.tax_modes:
        out.append(
            Check(
                code="tax_mode",
                severity="error",
                field="tax_mode",
                message=f"{label} does not accept {data.tax_mode.value.lower()} amounts "
                "here; choose another tax mode.",
            )
        )
    codes = {c.code for c in meta.currencies}
    if data.currency not in codes:
        if meta.provider == "xero":
            message = (
                f"The currency {data.currency} is not enabled in the Xero organisation "
                f"{meta.organisation.name}; add it in Xero or choose another currency."
            )
        elif not feats.multi_currency:
            message = (
                f"Multi-currency is off in QuickBooks, so invoices must be in "
                f"{meta.organisation.base_currency}, not {data.currency}."
            )
        else:
            message = f"The currency {data.currency} is not enabled in QuickBooks."
        out.append(
            Check(code="currency_not_enabled", severity="error", field="currency", message=message)
        )
    if (
        meta.provider == "quickbooks"
        and data.contact_currency
        and data.currency != data.contact_currency
    ):
        out.append(
            Check(
                code="currency_mismatch",
                severity="error",
                field="currency",
                message=f"The QuickBooks customer {data.contact_name or ''} bills in "
                f"{data.contact_currency}; the invoice is in {data.currency}. "
                "QuickBooks needs them to be the same.".replace("  ", " "),
            )
        )
    limit = feats.limits.line_description
    for index, line in enumerate(data.lines):
        name = line_name(index, line)
        where = f"lines[{index}]"
        if len(line.description) > limit:
            out.append(
                Check(
                    code="description_too_long",
                    severity="error",
                    field=f"{where}.description",
                    message=f"{name}: the description is {len(line.description)} "
                    f"characters; {label} allows {limit}.",
                )
            )
        if line.kind != "deal_discount" and line.quantity <= ZERO:
            out.append(
                Check(
                    code="quantity",
                    severity="error",
                    field=f"{where}.quantity",
                    message=f"{name}: the quantity must be more than 0.",
                )
            )
        if line.kind != "deal_discount" and line.unit_price < ZERO:
            out.append(
                Check(
                    code="unit_price",
                    severity="error",
                    field=f"{where}.unit_price",
                    message=f"{name}: the unit price must not be negative.",
                )
            )
        if (
            line.discount_rate is not None or line.discount_amount is not None
        ) and not feats.line_discount:
            out.append(
                Check(
                    code="line_discount",
                    severity="error",
                    field=f"{where}.discount_rate",
                    message=f"{name}: {label} has no line discounts; fold it into the "
                    "price or use an invoice discount.",
                )
            )
        if (
            line.discount_amount is not None
            and line.discount_amount > line.quantity * line.unit_price
        ):
            out.append(
                Check(
                    code="discount_too_large",
                    severity="error",
                    field=f"{where}.discount_amount",
                    message=f"{name}: the discount is more than the line's amount.",
                )
            )
        if line.kind != "deal_discount" and not (line.item_id or line.item_code):
            if meta.provider == "quickbooks":
                out.append(
                    Check(
                        code="item_missing",
                        severity="error",
                        field=f"{where}.item_id",
                        message=f"{name} is not linked to a QuickBooks item; link one or "
                        "create it.",
                    )
                )
            else:
                out.append(
                    Check(
                        code="item_missing",
                        severity="warning",
                        field=f"{where}.item_id",
                        message=f"{name} is not linked to a Xero item; it will be sent "
                        "as a description-only line.",
                    )
                )
        code = line.tax_code or data.tax_code
        if data.tax_mode is not TaxMode.no_tax:
            if not code:
                out.append(
                    Check(
                        code="tax_missing",
                        severity="error",
                        field=f"{where}.tax_code",
                        message=f"{name}: choose a {label} tax rate.",
                    )
                )
            else:
                rate = meta.rate_of(code)
                if rate is None:
                    out.append(
                        Check(
                            code="tax_unknown",
                            severity="error",
                            field=f"{where}.tax_code",
                            message=f"{name}: {label} has no tax rate {code}.",
                        )
                    )
                elif not rate.can_apply_to_revenue:
                    out.append(
                        Check(
                            code="tax_not_revenue",
                            severity="error",
                            field=f"{where}.tax_code",
                            message=f"{name}: the tax rate {rate.name} cannot be used on "
                            "sales; choose a sales tax rate.",
                        )
                    )
    if data.totals.total < ZERO:
        out.append(
            Check(
                code="negative_total",
                severity="error",
                field="lines",
                message="The invoice total is negative; a credit note is needed instead.",
            )
        )
    elif data.lines and data.totals.total == ZERO and not data.confirm_zero:
        out.append(
            Check(
                code="zero_total",
                severity="confirm",
                field="confirm_zero",
                message="The invoice total is 0. Confirm that you want a zero-amount invoice.",
            )
        )
    return out


def blocking(checks: Sequence[Check]) -> list[Check]:
    return [c for c in checks if c.severity in ("error", "confirm")]


# --- to the provider ----------------------------------------------------------------------------


def provider_draft(
    meta: ProviderMeta,
    *,
    contact_id: str,
    issue_date: object,
    due_date: object,
    currency: str,
    tax_mode: TaxMode,
    tax_code: str | None,
    template_id: str | None,
    reference: str | None,
    url: str | None,
    lines: Sequence[LineBase],
    discount: DiscountIn | None,
    bill_email: str | None,
) -> InvoiceDraft:
    """The adapter's InvoiceDraft (always DRAFT) from the reviewed invoice."""
    return InvoiceDraft(
        contact_id=contact_id,
        issue_date=issue_date,
        due_date=due_date,
        currency=currency,
        tax_mode=tax_mode,
        reference=reference or None,
        url=url,
        template_id=template_id if meta.features.templates else None,
        tax_code=tax_code,
        global_discount=GlobalDiscount(rate=discount.rate, amount=discount.amount)
        if discount
        else None,
        bill_email=bill_email if meta.provider == "quickbooks" else None,
        status="DRAFT",
        lines=tuple(
            InvoiceLineDraft(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                item_id=line.item_id if meta.provider == "quickbooks" else None,
                item_code=line.item_code if meta.provider == "xero" else None,
                discount_rate=line.discount_rate,
                discount_amount=line.discount_amount,
                tax_code=None if tax_mode is TaxMode.no_tax else (line.tax_code or tax_code),
                account_code=line.account_code,
            )
            for line in lines
        ),
    )
