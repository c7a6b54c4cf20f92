"""Pure rules of crediting an invoice: what may be credited, how much is left to credit, and
the credit note's lines (all, chosen, or one line for an amount).

No database, no HTTP: the flow (``flows/credit.py``) reads the invoice and calls these.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.providers.base import (
    Features,
    GlobalDiscount,
    Invoice,
    InvoiceLine,
    InvoiceLineDraft,
    TaxMode,
)
from app.providers.money import currency_exponent
from app.providers.view import InvoiceStage

ZERO = Decimal("0")
# An invoice is credited once it is issued: approved (owing), part paid or paid.
CREDITABLE = frozenset({InvoiceStage.issued, InvoiceStage.partially_paid, InvoiceStage.paid})
REFUSED_WORDS = {
    InvoiceStage.voided: "it is voided",
    InvoiceStage.deleted: "it is deleted",
    InvoiceStage.draft: "it is still a draft (approve it first)",
    InvoiceStage.awaiting_approval: "it is awaiting approval (approve it first)",
}


@dataclass(frozen=True)
class CreditPlan:
    """The credit note to send, and its total as we expect the provider to work it out."""

    lines: tuple[InvoiceLineDraft, ...]
    tax_mode: TaxMode
    global_discount: GlobalDiscount | None
    expected_total: Decimal


def quantize(amount: Decimal, currency: str) -> Decimal:
    exp = Decimal(1).scaleb(-currency_exponent(currency))
    return amount.quantize(exp, rounding=ROUND_HALF_UP)


def refusal(stage: InvoiceStage) -> str | None:
    """Why an invoice in ``stage`` cannot be credited, in plain words; None when it can."""
    if stage in CREDITABLE:
        return None
    return REFUSED_WORDS.get(stage, "it is not approved")


def remaining(total: Decimal, credited: Decimal) -> Decimal:
    """What may still be credited: the total less every credit note already on it."""
    return max(total - credited, ZERO)


def item_lines(invoice: Invoice) -> list[InvoiceLine]:
    return [ln for ln in invoice.lines if ln.kind == "item"]


def copied(line: InvoiceLine) -> InvoiceLineDraft:
    """An invoice line as a credit note line: the same item, price, discount, tax, account."""
    return InvoiceLineDraft(
        description=line.description or "Credit",
        quantity=line.quantity if line.quantity is not None else Decimal("1"),
        unit_price=line.unit_price if line.unit_price is not None else line.amount,
        item_id=line.item_id,
        item_code=line.item_code,
        discount_rate=line.discount_rate or None,
        discount_amount=line.discount_amount or None,
        tax_code=line.tax_code,
        account_code=line.account_code,
    )


def share(invoice: Invoice, chosen: list[InvoiceLine]) -> Decimal:
    """The chosen lines' share of the invoice's item lines (1 when all are chosen)."""
    whole = sum((ln.amount for ln in item_lines(invoice)), ZERO)
    part = sum((ln.amount for ln in chosen), ZERO)
    if len(chosen) == len(item_lines(invoice)) or whole == ZERO:
        return Decimal("1")
    return part / whole


def discount_of(invoice: Invoice, portion: Decimal) -> GlobalDiscount | None:
    """An invoice-level discount (QuickBooks) carried over in the same proportion."""
    found = next((ln for ln in invoice.lines if ln.kind == "discount"), None)
    if found is None:
        return None
    if found.discount_rate:
        return GlobalDiscount(rate=found.discount_rate, account_code=found.account_code)
    amount = quantize(found.amount * portion, invoice.currency)
    return GlobalDiscount(amount=amount, account_code=found.account_code)


def lines_plan(invoice: Invoice, line_ids: list[str]) -> CreditPlan:
    """Credit the chosen lines as they are; ValueError naming an id the invoice lacks."""
    by_id = {ln.id: ln for ln in item_lines(invoice) if ln.id}
    unknown = [i for i in line_ids if i not in by_id]
    if unknown:
        raise ValueError(f"The invoice has no line {unknown[0]}.")
    chosen = [by_id[i] for i in dict.fromkeys(line_ids)]
    portion = share(invoice, chosen)
    return CreditPlan(
        lines=tuple(copied(ln) for ln in chosen),
        tax_mode=invoice.tax_mode or TaxMode.exclusive,
        global_discount=discount_of(invoice, portion),
        expected_total=quantize(invoice.total * portion, invoice.currency),
    )


def amount_plan(invoice: Invoice, amount: Decimal, features: Features, label: str) -> CreditPlan:
    """One line of ``amount``, tax included: with the invoice's tax code where every line has
    the same one and the provider takes tax-inclusive amounts, else without tax; it names the
    invoice's first item (providers whose lines need an item get one)."""
    lines = item_lines(invoice)
    first = lines[0] if lines else None
    codes = {ln.tax_code for ln in lines}
    single = next(iter(codes)) if len(codes) == 1 else None
    inclusive = single is not None and TaxMode.inclusive in features.tax_modes
    line = InvoiceLineDraft(
        description=label,
        quantity=Decimal("1"),
        unit_price=amount,
        item_id=first.item_id if first else None,
        item_code=first.item_code if first else None,
        tax_code=single if inclusive else None,
        account_code=first.account_code if first else None,
    )
    return CreditPlan(
        lines=(line,),
        tax_mode=TaxMode.inclusive if inclusive else TaxMode.no_tax,
        global_discount=None,
        expected_total=amount,
    )
