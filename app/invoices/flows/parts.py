"""Invoicing a deal in parts (deposit, milestones, the balance): the part's body with its lines
scaled (``split_part``, before the intent is claimed), and how much of a deal is invoiced
(``deal_billing``). The arithmetic is ``rules.parts``; this module reads our rows and the deal's
Pipedrive installments.

Each part is its own intent: its identity (``percent-30``, ``balance``, ``installment-7``)
is appended to the Idempotency-Key, so a deposit and the balance sent from one opening of the
dialog are two invoices and a double click on either is one. What the deal's other invoices
come to leaves out the intent's own key, so a repeat of a request resolves to the same part.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.pipedrive.errors import PipedriveError, PipedriveForbidden, PipedriveNotFound
from app.crm.pipedrive.schemas import DealInstallment
from app.errors import ValidationFailed
from app.invoices.billing_schemas import BillingOut, InstallmentOut, PartOut
from app.invoices.context import InvoiceContext
from app.invoices.flows.claim import KEY_MAX
from app.invoices.flows.deal import read_deal
from app.invoices.flows.listing import invoice_out, todays
from app.invoices.models import DealInvoice, InvoiceStatus
from app.invoices.repository import InvoiceRepository
from app.invoices.rules.meta import ProviderMeta
from app.invoices.rules.parts import (
    PartError,
    PartKind,
    PartPlan,
    default_label,
    digits_of,
    from_minor,
    identity_of,
    parse_amount,
    plan_part,
    to_minor,
)
from app.invoices.rules.totals import compute_totals
from app.invoices.schemas import DiscountIn, InvoiceIn, LineIn, PartIn

# A voided or deleted invoice invoices nothing of the deal.
CANCELLED = {"VOIDED", "DELETED"}


class OverInvoice(ValidationFailed):
    """A part past what is left of the deal, not confirmed."""

    code = "over_invoice"


def babel_locale(raw: str | None) -> str:
    """The user's Pipedrive locale (``de-DE``) as babel's name; English when unknown."""
    try:
        return str(Locale.parse((raw or "en").replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        return "en"


def money(minor: int, digits: int, currency: str) -> str:
    try:
        return format_currency(from_minor(minor, digits), currency, locale="en")
    except (ValueError, KeyError):
        return f"{from_minor(minor, digits)} {currency}"


def part_key(key: str, identity: str) -> str:
    """The intent's key for one part of the deal (within the column's 128 characters)."""
    keyed = f"{key}#{identity}"
    if len(keyed) <= KEY_MAX:
        return keyed
    digest = hashlib.sha256(keyed.encode()).hexdigest()[:32]
    return f"{key[: KEY_MAX - 40]}#part-{digest}"


def counted(row: DealInvoice, currency: str) -> int:
    """What a row invoices of its deal, in minor units (0 when refused or cancelled)."""
    if row.status == InvoiceStatus.failed or (row.provider_status or "") in CANCELLED:
        return 0
    if (row.currency or currency).upper() != currency.upper():
        return 0
    if row.part_amount_minor is not None:
        return row.part_amount_minor
    # Invoices from before parts were recorded invoiced the whole deal: their net amount.
    return row.subtotal_minor


async def invoiced_minor(
    session: AsyncSession, company_id: str, deal_id: int, currency: str, except_key: str
) -> int:
    rows = await InvoiceRepository(session, company_id).of_deal(deal_id)
    return sum(counted(r, currency) for r in rows if r.idempotency_key != except_key)


def net_amounts(meta: ProviderMeta, body: InvoiceIn) -> tuple[list[Decimal], Decimal]:
    """The lines' amounts as the provider computes them, and the invoice discount (QuickBooks'
    discount line; Xero carries deal discounts as lines)."""
    totals, amounts = compute_totals(
        meta, body.lines, body.tax_mode, body.global_discount, body.tax_code
    )
    return list(amounts), totals.discount


def whole_columns(meta: ProviderMeta, body: InvoiceIn) -> dict[str, object]:
    """The row's part columns for an invoice of the whole deal."""
    amounts, discount = net_amounts(meta, body)
    digits = digits_of(body.currency)
    deal = sum(to_minor(a, digits) for a in amounts) - to_minor(discount, digits)
    return {"deal_amount_minor": deal, "part_amount_minor": deal}


@dataclass(frozen=True)
class Asked:
    kind: PartKind
    value: Decimal | None


def asked(part: PartIn, locale: str) -> Asked:
    if part.percent is not None:
        return Asked("percent", parse_amount(part.percent, locale, "percent"))
    if part.amount is not None:
        return Asked("amount", parse_amount(part.amount, locale, "amount"))
    return Asked("balance", None)


async def split_part(
    ctx: InvoiceContext,
    session: AsyncSession,
    meta: ProviderMeta,
    deal_id: int,
    body: InvoiceIn,
    key: str,
) -> tuple[InvoiceIn, str, dict[str, object] | None]:
    """The part's invoice (the deal's lines scaled to it), the part's intent key and the row's
    part columns. A part past what is left of the deal is a 422 naming the amount unless the
    body confirms it (``part.confirm_over``)."""
    part = body.part
    assert part is not None
    try:
        want = asked(part, babel_locale(ctx.user.locale))
    except PartError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    amounts, discount = net_amounts(meta, body)
    entries = [*amounts, -discount] if discount else amounts
    identity = identity_of(want.kind, want.value, part.installment_id)
    intent_key = part_key(key, identity)
    earlier = await InvoiceRepository(session, ctx.company_id).by_key(intent_key)
    if earlier is not None and earlier.status != InvoiceStatus.failed:
        # A repeat of a part already recorded: what it sent, whatever was invoiced since
        # (the claim still refuses another body under the key).
        return InvoiceIn.model_validate(earlier.request_body), intent_key, None
    already = await invoiced_minor(session, ctx.company_id, deal_id, body.currency, intent_key)
    try:
        plan = plan_part(
            kind=want.kind,
            value=want.value,
            label=part.label or default_label(want.kind, want.value, body.currency),
            identity=identity,
            currency=body.currency,
            line_amounts=entries,
            invoiced_minor=already,
        )
    except PartError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    if plan.over_minor and not part.confirm_over:
        raise over_invoice(plan, body.currency)
    columns: dict[str, object] = {
        "part_label": plan.label,
        "part_kind": plan.kind,
        "part_amount_minor": plan.part_minor,
        "deal_amount_minor": plan.deal_minor,
    }
    return scaled_body(body, plan, bool(discount)), intent_key, columns


def over_invoice(plan: PartPlan, currency: str) -> OverInvoice:
    amount = money(plan.part_minor, plan.digits, currency)
    left = money(max(plan.remaining_minor, 0), plan.digits, currency)
    return OverInvoice(
        f"This part ({amount}) is more than the {left} left to invoice on this deal "
        f"(it would over-invoice it by {money(plan.over_minor, plan.digits, currency)}); "
        "confirm to invoice it anyway.",
        field="part.amount" if plan.kind == "amount" else f"part.{plan.kind}",
        extra={
            "amount": str(from_minor(plan.part_minor, plan.digits)),
            "remaining": str(from_minor(max(plan.remaining_minor, 0), plan.digits)),
            "over": str(from_minor(plan.over_minor, plan.digits)),
        },
    )


def scaled_body(body: InvoiceIn, plan: PartPlan, has_discount: bool) -> InvoiceIn:
    """The body with each line as 1 x its share of the part (its item, tax code and account
    kept), and QuickBooks' invoice discount as its share, so the lines come to the part."""
    shares = list(plan.shares)
    discount = None
    if has_discount and body.global_discount is not None:
        discount = DiscountIn(
            amount=-from_minor(shares.pop(), plan.digits),
            description=body.global_discount.description,
        )
    lines = [
        LineIn(
            description=f"{line.description}\n{plan.label}",
            quantity=Decimal(1),
            unit_price=from_minor(share, plan.digits),
            tax_code=line.tax_code,
            account_code=line.account_code,
            item_id=line.item_id,
            item_code=line.item_code,
            crm_product_id=line.crm_product_id,
            kind=line.kind,
            deal_tax_rate=line.deal_tax_rate,
        )
        for line, share in zip(body.lines, shares, strict=True)
    ]
    return body.model_copy(update={"lines": lines, "global_discount": discount})


async def deal_billing(
    ctx: InvoiceContext,
    session: AsyncSession,
    deal_id: int,
    *,
    read: bool = True,
    installments: bool = True,
) -> BillingOut:
    """How much of the deal is invoiced: its value (from its invoices), what they come to,
    what is left, each part with its invoice's status, and the deal's Pipedrive installments
    (offered as the parts). Another company's deal is a 404 (``read``: the caller has not
    just read the deal itself)."""
    client, _ = await ctx.pipedrive(session)
    if read:
        await read_deal(client, deal_id)
    offered: list[DealInstallment] = []
    if installments:
        try:
            offered = await client.deal_installments(deal_id)
        except (PipedriveError, PipedriveForbidden, PipedriveNotFound):
            # Installments are a Growth plan feature: without them parts are typed by hand.
            offered = []
    rows = await InvoiceRepository(session, ctx.company_id).of_deal(deal_id)
    return await billing_of(ctx, session, deal_id, list(rows), offered)


async def billing_of(
    ctx: InvoiceContext,
    session: AsyncSession,
    deal_id: int,
    rows: list[DealInvoice],
    installments: list[DealInstallment],
) -> BillingOut:
    live = [r for r in rows if r.status != InvoiceStatus.failed]
    out = BillingOut(deal_id=deal_id)
    known = [r for r in live if r.deal_amount_minor is not None]
    currency = (known or live)[0].currency if (known or live) else None
    by_installment = {
        int(r.idempotency_key.rsplit("#installment-", 1)[1]): r.id
        for r in live
        if "#installment-" in r.idempotency_key
        and r.idempotency_key.rsplit("#installment-", 1)[1].isdigit()
    }
    out.installments = [
        InstallmentOut(
            id=i.id,
            description=i.description,
            amount=i.amount,
            billing_date=i.billing_date,
            invoice_id=by_installment.get(i.id),
        )
        for i in installments
    ]
    if not currency:
        return out
    digits = digits_of(currency)
    today = await todays(ctx, session)
    utc_today = datetime.now(UTC).date()
    invoiced = sum(counted(r, currency) for r in live)
    out.currency = currency
    out.invoiced = from_minor(invoiced, digits)
    if known:
        # The newest part's view of the deal (rows come newest first).
        deal = known[0].deal_amount_minor or 0
        out.deal_amount = from_minor(deal, digits)
        out.remaining = from_minor(deal - invoiced, digits)
    for row in reversed(live):
        view = invoice_out(row, today.get(row.provider, utc_today), can_approve=False)
        out.parts.append(
            PartOut(
                invoice_id=row.id,
                provider=row.provider,
                label=row.part_label or "Whole deal",
                amount=from_minor(counted(row, currency), digits),
                status=row.status,
                status_label=view.status_label or status_words(row),
                number=row.number,
            )
        )
    return out


def status_words(row: DealInvoice) -> str:
    return {
        InvoiceStatus.pending: "Being created",
        InvoiceStatus.unknown: "Not confirmed yet",
        InvoiceStatus.failed: "Failed",
    }.get(row.status, row.status)
