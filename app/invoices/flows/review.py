"""Reviewing an invoice before it is created: totals and checks exactly as creation computes
them (``evaluate``), the dialog's live review (``review_invoice``), the API's preview
(``preview_invoice``), the gate before creating (``prepare``), and the draft sent back
unchanged (``reviewed``). Nothing here calls the provider: its metadata is cached."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_name
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import ProviderConnection
from app.errors import ValidationFailed
from app.invoices.context import InvoiceContext
from app.invoices.flows.deal import ensure_deal
from app.invoices.flows.linking import provider_contact
from app.invoices.repository import ContactLinkRepository
from app.invoices.rules.checks import CheckInput, blocking, run_checks
from app.invoices.rules.meta import ProviderMeta
from app.invoices.rules.totals import compute_totals
from app.invoices.schemas import (
    Check,
    CustomerIn,
    DraftOut,
    InvoiceIn,
    LineIn,
    PreviewOut,
    TotalsOut,
)
from app.preferences.due_dates import Terms, due_date
from app.preferences.service import load_preferences


class ChecksFailed(ValidationFailed):
    """The reviewed invoice failed checks: ``checks`` lists each, naming its field."""

    code = "checks_failed"

    def __init__(self, checks: list[Check]) -> None:
        first = checks[0]
        super().__init__(
            " ".join(c.message for c in checks),
            field=first.field,
            extra={"checks": [c.model_dump() for c in checks]},
        )


def validate_currency(code: str) -> None:
    if not code.isalpha() or get_currency_name(code, locale="en") == code:
        raise ValidationFailed(f"{code} is not a known currency code.", field="currency")


@dataclass
class Evaluation:
    """The reviewed invoice as the provider would compute it, and every check."""

    meta: ProviderMeta
    connection: ProviderConnection
    linked: bool
    totals: TotalsOut
    amounts: list[Decimal]
    checks: list[Check]


async def evaluate(
    ctx: InvoiceContext,
    session: AsyncSession,
    body: InvoiceIn,
    *,
    currency_as_check: bool = False,
    read_contact: bool = False,
) -> Evaluation:
    """Totals and checks of a reviewed invoice, with no provider call (metadata is cached).
    An unknown currency code is a 422, or with ``currency_as_check`` one more check.
    ``read_contact`` (before creating): where contacts bill in one currency and neither the
    body nor the link says which, the contact is read, so a mismatch is ours to say."""
    extra: list[Check] = []
    try:
        validate_currency(body.currency)
    except ValidationFailed as exc:
        if not currency_as_check:
            raise
        extra.append(
            Check(code="currency", severity="error", field="currency", message=exc.message)
        )
    meta, connection = await ctx.meta_cache.connected(ctx, body.provider, session)
    totals, amounts = compute_totals(
        meta, body.lines, body.tax_mode, body.global_discount, body.tax_code
    )
    contact_currency = body.customer.contact_currency
    contact_name = body.customer.name
    linked = False
    if body.customer.contact_id and body.customer.crm_entity and body.customer.crm_id:
        link = await ContactLinkRepository(session, ctx.company_id).one(
            body.provider, body.customer.crm_entity, body.customer.crm_id
        )
        if link is not None and link.contact_id == body.customer.contact_id:
            contact_currency = link.contact_currency or contact_currency
            contact_name = link.contact_name or contact_name
            linked = True
    if body.customer.create:
        # A new contact bills in the invoice's currency where contacts have one.
        contact_currency = body.currency if meta.features.contact_currency else None
    elif read_contact and meta.features.contact_currency and not contact_currency:
        contact_id = body.customer.contact_id
        if contact_id:
            found = await provider_contact(ctx, body.provider, contact_id, "customer.contact_id")
            contact_currency, contact_name = found.currency, contact_name or found.name
    checks = run_checks(
        meta,
        CheckInput(
            currency=body.currency,
            tax_mode=body.tax_mode,
            tax_code=body.tax_code,
            lines=body.lines,
            totals=totals,
            contact_id=body.customer.contact_id,
            creating_contact=body.customer.create,
            contact_name=contact_name,
            contact_currency=contact_currency,
            confirm_zero=body.confirm_zero,
            invoice_number=body.invoice_number,
            discount=body.global_discount,
            accept_tax_difference=body.accept_tax_difference,
            extra=extra,
        ),
    )
    return Evaluation(meta, connection, linked, totals, amounts, checks)


async def review_invoice(
    ctx: InvoiceContext, session: AsyncSession, body: InvoiceIn
) -> tuple[TotalsOut, list[Decimal], list[Check]]:
    """Totals, line amounts and checks of the dialog as it stands, exactly as creation will
    compute them, without sending anything (an unknown currency is one more check)."""
    result = await evaluate(ctx, session, body, currency_as_check=True)
    return result.totals, result.amounts, result.checks


async def prepare(
    ctx: InvoiceContext, session: AsyncSession, body: InvoiceIn
) -> tuple[ProviderMeta, ProviderConnection, bool]:
    """Local checks of the reviewed invoice; raises 422 naming the field when it cannot go."""
    result = await evaluate(ctx, session, body, read_contact=True)
    stop = blocking(result.checks)
    if stop:
        raise ChecksFailed(stop)
    return result.meta, result.connection, result.linked


async def with_due_date(ctx: InvoiceContext, session: AsyncSession, body: InvoiceIn) -> InvoiceIn:
    """The invoice with a due date: the one given, else the company's due-date terms from its
    issue date (a provider may refuse to approve an invoice without one: Xero's "The
    document DueDate field must be specified.")."""
    if body.due_date is not None:
        return body
    prefs, _ = await load_preferences(session, ctx.company_id, body.provider, None)
    terms = Terms(prefs.due_terms.rule, prefs.due_terms.days)
    return body.model_copy(update={"due_date": due_date(body.issue_date, terms)})


async def preview_invoice(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, body: InvoiceIn
) -> PreviewOut:
    """Live totals and checks of the dialog's current invoice, without creating anything or
    calling the provider (its metadata is cached)."""
    await ensure_deal(ctx, session, deal_id, body.deal_token)
    result = await evaluate(ctx, session, body)
    return PreviewOut(totals=result.totals, line_amounts=result.amounts, checks=result.checks)


def reviewed(draft: DraftOut, **over: Any) -> InvoiceIn:
    """The draft as the dialog would send it back unchanged (its chosen or suggested contact,
    else a new contact from the CRM's customer fields); ``over`` replaces top-level fields."""
    customer = draft.customer
    values: dict[str, Any] = {
        "provider": draft.provider,
        "customer": CustomerIn(
            contact_id=customer.contact.id if customer.contact else None,
            create=customer.contact is None and bool(customer.to),
            name=None if customer.contact else customer.to,
            email=customer.email,
            address=customer.address,
            tax_id=customer.tax_id,
            update_contact=customer.update_contact,
            crm_entity=customer.crm_entity,
            crm_id=customer.crm_id,
            contact_currency=customer.contact.currency if customer.contact else None,
        ),
        "issue_date": draft.details.issue_date,
        "due_date": draft.details.due_date,
        "currency": draft.details.currency,
        "tax_mode": draft.details.tax_mode,
        "tax_code": draft.details.tax_code,
        "template_id": draft.details.template_id,
        "reference": draft.details.reference,
        "lines": [
            LineIn(**line.model_dump(include=set(LineIn.model_fields))) for line in draft.lines
        ],
        "global_discount": draft.global_discount,
        "deal_token": draft.deal_token,
    }
    values.update(over)
    return InvoiceIn(**values)
