"""Deal lines → provider lines: tax modes and codes, line and deal discounts in the
provider's form, and the adapter's draft from the reviewed invoice. No I/O here.

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
from decimal import ROUND_HALF_UP, Decimal

from app.crm.pipedrive.schemas import DealData, DealProduct
from app.invoices.rules.items import ItemChoice
from app.invoices.rules.meta import ProviderMeta, fmt
from app.invoices.rules.totals import rate_value
from app.invoices.schemas import DiscountIn, DraftLine, LineBase
from app.providers.base import GlobalDiscount, InvoiceDraft, InvoiceLineDraft, TaxMode
from app.providers.money import HUNDRED, ZERO, qbo_line_amount, round2, xero_line_amount

PREF_TAX_MODE = {
    "exclusive": TaxMode.exclusive,
    "inclusive": TaxMode.inclusive,
    "no_tax": TaxMode.no_tax,
}


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


def fold_line_discount(
    meta: ProviderMeta,
    product: DealProduct,
    rate: Decimal | None,
    amount: Decimal | None,
    description: str,
) -> tuple[Decimal, Decimal, str, str]:
    """A deal product's discount where the provider has none, folded into the line."""
    return fold_discount(
        meta.label, product.quantity, product.item_price, rate, amount, description
    )


def fold_discount(
    label: str,
    quantity: Decimal,
    price: Decimal,
    rate: Decimal | None,
    amount: Decimal | None,
    description: str,
) -> tuple[Decimal, Decimal, str, str]:
    """A line discount where the provider has none, folded into the line: (quantity, unit
    price, description, note). Every surface folds with this one rule (the deal panel's
    draft and Pipedrive's Invoicing extension), so the same deal makes the same invoice."""
    gross = quantity * price
    net = (
        round2(gross * (HUNDRED - rate) / HUNDRED)
        if rate is not None
        else round2(gross - (amount or ZERO))
    )
    what = f"{fmt(rate)} % discount" if rate is not None else f"discount of {fmt(amount or ZERO)}"
    new_price = (
        (net / quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if quantity else net
    )
    # QuickBooks wants Amount = Qty x UnitPrice (error 6070); whether it rounds a finer
    # product is UNCONFIRMED, so fold only when the product is exact to the cent.
    if quantity and quantity * new_price == net:
        return (
            quantity,
            Decimal(format(new_price.normalize(), "f")),
            description,
            f"{what} included in the unit price ({label} has no line discounts)",
        )
    description = f"{description} ({fmt(quantity)} x {fmt(price)}, {what})"
    note = f"{what} included in the amount ({label} has no line discounts)"
    return Decimal("1"), net, description, note


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
        quantity, price, description, note = fold_line_discount(
            meta, product, rate, amount, description
        )
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
        deal_tax_rate=None if mode is TaxMode.no_tax else (product.tax or ZERO),
    )


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
    invoice_number: str | None = None,
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
        invoice_number=(invoice_number or "").strip() or None,
        tax_code=tax_code,
        global_discount=GlobalDiscount(rate=discount.rate, amount=discount.amount)
        if discount
        else None,
        bill_email=bill_email if meta.features.bill_email else None,
        status="DRAFT",
        lines=tuple(
            InvoiceLineDraft(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                item_id=line.item_id if meta.features.item_id_on_lines else None,
                item_code=None if meta.features.item_id_on_lines else line.item_code,
                discount_rate=line.discount_rate,
                discount_amount=line.discount_amount,
                tax_code=None if tax_mode is TaxMode.no_tax else (line.tax_code or tax_code),
                account_code=line.account_code,
            )
            for line in lines
        ),
    )
