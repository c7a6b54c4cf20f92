"""The invoice rules page (admins; Jinja2 + htmx): the rules, a form to add one, the overdue
follow-up settings, and the rule log. Linked from the preferences page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, parse_decimal
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.automation.conditions import parse_steps
from app.automation.repository import AutomationRepository
from app.automation.rules import check_stage, create_rule, delete_rule, rule_out
from app.automation.schemas import RuleIn
from app.crm.pipedrive.service import company_client
from app.db import utcnow
from app.errors import AppError, NotFound, ValidationFailed
from app.tenants.dependencies import PageAdmin
from app.tenants.models import CrmUser
from app.web import DbSession, render

router = APIRouter(include_in_schema=False)
LABELS = {"xero": "Xero", "quickbooks": "QuickBooks"}


async def _context(session: DbSession, user: CrmUser, **extra: Any) -> dict[str, Any]:
    repo = AutomationRepository(session, user.company_id)
    rules = await repo.rules()
    names = {r.id: r.name for r in rules}
    settings = await repo.settings()
    firings = [
        {
            "at": f.created_at,
            "rule": names.get(f.rule_id) or f.rule_snapshot.get("name", "(deleted rule)"),
            "version": f.rule_version,
            "deal_id": f.deal_id,
            "outcome": f.outcome,
            "reason": f.reason,
            "invoice_row_id": f.invoice_row_id,
            "source": f.source,
        }
        for f in await repo.firings(100)
    ]
    return {
        "user": user,
        "rules": [rule_out(r) for r in rules],
        "settings": settings,
        "firings": firings,
        "labels": LABELS,
        "errors": {},
        "values": {},
        **extra,
    }


def _amount(raw: str, locale: str | None) -> Decimal | None:
    """A typed amount in the user's own way of writing numbers (en_NZ 1,000.50; de 1.000,50)."""
    if not raw.strip():
        return None
    try:
        return Decimal(parse_decimal(raw.strip(), locale=(locale or "en").replace("-", "_")))
    except (NumberFormatError, ValueError) as exc:
        raise ValidationFailed(f"{raw!r} is not an amount.", field="min_amount") from exc


def rule_from_form(form: FormData, locale: str | None) -> RuleIn:
    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    trigger = text("trigger") or "won"
    stage = text("stage_id")
    pipeline = text("pipeline_id")
    return RuleIn(
        name=text("name") or "Invoice rule",
        provider=text("provider") or "xero",
        trigger=trigger,
        pipeline_id=int(pipeline) if pipeline.isdigit() and trigger == "stage" else None,
        stage_id=int(stage) if stage.isdigit() and trigger == "stage" else None,
        only_with_products=form.get("only_with_products") == "on",
        min_amount=_amount(text("min_amount"), locale),
        currency=text("currency").upper() or None,
    )


async def _body(
    request: Request, session: DbSession, user: CrmUser, status: int = 200, **extra: Any
) -> Response:
    context = await _context(session, user, **extra)
    return render(request, "automation/_body.html", status_code=status, **context)


@router.get("/automation")
async def automation_page(request: Request, session: DbSession, admin: PageAdmin) -> Response:
    """The company's invoice rules, follow-up settings and rule log."""
    return render(request, "automation/page.html", **await _context(session, admin))


@router.post("/automation/rules")
async def add_rule(request: Request, session: DbSession, admin: PageAdmin) -> Response:
    form = await request.form()
    try:
        body = rule_from_form(form, admin.locale)
        if body.trigger == "stage":
            await check_stage(
                await company_client(request, session, admin.company_id, admin.id), body
            )
    except ValidationError as exc:
        message = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        return await _body(
            request, session, admin, 422, errors={"rule": message}, values=dict(form)
        )
    except AppError as exc:
        return await _body(
            request, session, admin, 422, errors={"rule": exc.message}, values=dict(form)
        )
    await create_rule(session, admin.company_id, admin.id, body)
    return await _body(request, session, admin, saved="Rule added.")


@router.post("/automation/rules/{rule_id}/toggle")
async def toggle_rule(
    request: Request, rule_id: str, session: DbSession, admin: PageAdmin
) -> Response:
    rule = await AutomationRepository(session, admin.company_id).rule(rule_id)
    if rule is None:
        raise NotFound("No such invoice rule.")
    rule.enabled = not rule.enabled
    rule.version += 1
    rule.disabled_reason = None
    if rule.enabled:
        # Turned on again: deals that matched while it was off are not back-billed.
        rule.active_since = utcnow()
    return await _body(request, session, admin)


@router.post("/automation/rules/{rule_id}/delete")
async def remove_rule(
    request: Request, rule_id: str, session: DbSession, admin: PageAdmin
) -> Response:
    await delete_rule(session, admin.company_id, rule_id)
    await session.flush()
    return await _body(request, session, admin, saved="Rule deleted.")


@router.post("/automation/settings")
async def save_settings(request: Request, session: DbSession, admin: PageAdmin) -> Response:
    form = await request.form()
    try:
        steps = parse_steps(str(form.get("overdue_steps") or ""))
    except ValueError as exc:
        return await _body(
            request, session, admin, 422, errors={"steps": f"Reminder steps: {exc}."}
        )
    settings = await AutomationRepository(session, admin.company_id).settings()
    settings.overdue_followup = form.get("overdue_followup") == "on"
    settings.overdue_steps = steps
    return await _body(request, session, admin, saved="Follow-up settings saved.")
