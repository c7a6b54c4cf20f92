"""Crediting a listed invoice from the deal panel (and pausing or stopping a recurring
schedule, the panel's other billing action): the form (the invoice's lines as the
provider has them, what is left to credit, an amount typed in the user's locale), then the
credit itself through the same flow as the JSON API, exactly once per rendering of the form
(its Idempotency-Key), and the refreshed list with a line saying what happened, or why not."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from app.crm.pipedrive.schemas import PipedriveId
from app.errors import AppError
from app.invoices import flows
from app.invoices.billing_schemas import CreditIn
from app.invoices.flows.recurring import change_schedule, start_schedules
from app.invoices.pages.common import PANEL, common, problem
from app.invoices.pages.forms import PROVIDER_LABELS, day
from app.invoices.pages.numbers import AmbiguousNumber, parse_number, plain_in, user_locale
from app.invoices.pages.panel import list_with_message
from app.tenants.dependencies import PageUser
from app.web import DbSession, render

router = APIRouter(include_in_schema=False)


@router.get(PANEL + "/{deal_id}/invoices/{row_id}/credit")
async def credit_form(
    deal_id: PipedriveId, row_id: str, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The credit form for one of the deal's invoices."""
    try:
        options = await flows.credit_options(flows.context(request, user), session, deal_id, row_id)
    except AppError as exc:
        return problem(request, exc)
    locale = user_locale(user.locale)
    return render(
        request,
        "invoices/_credit.html",
        **common(request, user, deal_id, options=options, row_id=row_id),
        left_plain=plain_in(str(options.left), locale),
    )


def credit_from_form(form: dict[str, object], lines: list[str], locale: str) -> CreditIn:
    """The form's choice as the API's body; ValueError with a plain sentence when wrong."""
    mode = str(form.get("mode") or "")
    reason = str(form.get("reason") or "").strip() or None
    if mode == "full":
        return CreditIn(full=True, reason=reason)
    if mode == "lines":
        if not lines:
            raise ValueError("Tick the lines to credit.")
        return CreditIn(line_ids=lines, reason=reason)
    text = str(form.get("amount") or "").strip()
    if not text:
        raise ValueError("Type the amount to credit.")
    try:
        amount: Decimal = parse_number(text, "amount", locale)
    except AmbiguousNumber as exc:
        raise ValueError(str(exc)) from exc
    if amount <= 0:
        raise ValueError("The amount to credit must be more than zero.")
    return CreditIn(amount=amount, reason=reason)


@router.post(PANEL + "/{deal_id}/invoices/{row_id}/credit")
async def credit_invoice(
    deal_id: PipedriveId, row_id: str, request: Request, session: DbSession, user: PageUser
) -> Response:
    """Credit the invoice as the form says, then the refreshed list."""
    form = await request.form()
    notice: str | None = None
    error: str | None = None
    try:
        body = credit_from_form(
            dict(form), [str(v) for v in form.getlist("line_ids")], user_locale(user.locale)
        )
        credit, row, _ = await flows.credit_deal_invoice(
            flows.context(request, user),
            session,
            deal_id,
            row_id,
            body,
            request.headers.get("Idempotency-Key"),
        )
        notice = (
            f"Credit note {credit.number or ''} for {credit.total} {credit.currency} made on "
            f"invoice {row.number or ''}."
        ).replace("  ", " ")
    except (ValueError, ValidationError) as exc:
        error = str(exc) if not isinstance(exc, ValidationError) else "Check the amount."
    except AppError as exc:
        error = exc.message
    return await list_with_message(request, session, user, deal_id, notice, error)


@router.post(PANEL + "/{deal_id}/schedules/{schedule_id}/{action}")
async def schedule_action(
    deal_id: PipedriveId,
    schedule_id: str,
    action: str,
    request: Request,
    session: DbSession,
    user: PageUser,
) -> Response:
    """Pause, resume or stop one of the deal's recurring schedules (admins), then the list."""
    notice: str | None = None
    error: str | None = None
    try:
        if action not in ("pause", "resume", "stop"):
            raise ValueError("Choose pause, resume or stop.")
        done = await change_schedule(
            flows.context(request, user),
            session,
            deal_id,
            schedule_id,
            action,  # type: ignore[arg-type]
        )
        notice = f"The {done.frequency} schedule is {done.status}."
    except ValueError as exc:
        error = str(exc)
    except AppError as exc:
        error = exc.message
    return await list_with_message(request, session, user, deal_id, notice, error)


@router.post(PANEL + "/{deal_id}/schedules")
async def start_schedule(
    deal_id: PipedriveId, provider: str, request: Request, session: DbSession, user: PageUser
) -> Response:
    """Start billing the deal's recurring products (the dialog's button): a line per
    schedule saying when it bills first, or why not."""
    try:
        started = await start_schedules(flows.context(request, user), session, deal_id, provider)
    except AppError as exc:
        return problem(request, exc)
    return render(
        request,
        "invoices/_schedules_started.html",
        schedules=started,
        day=day,
        labels=PROVIDER_LABELS,
    )
