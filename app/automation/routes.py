"""The automation JSON API (admins only): invoice rules, the rule log, overdue follow-up
settings. Another company's rule is a 404."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.automation.repository import AutomationRepository
from app.automation.rules import check_stage, create_rule, delete_rule, edit_rule, rule_out
from app.automation.schemas import FiringOut, RuleIn, RuleOut, SettingsIn, SettingsOut
from app.crm.pipedrive.service import company_client
from app.errors import NotFound
from app.tenants.dependencies import CurrentAdmin
from app.web import DbSession

router = APIRouter(prefix="/api/v1/automation", tags=["automation"])


@router.get("/rules", response_model=list[RuleOut])
async def list_rules(session: DbSession, admin: CurrentAdmin) -> list[RuleOut]:
    return [rule_out(r) for r in await AutomationRepository(session, admin.company_id).rules()]


@router.post("/rules", response_model=RuleOut, status_code=201)
async def add_rule(
    body: RuleIn, request: Request, session: DbSession, admin: CurrentAdmin
) -> RuleOut:
    """A new rule; a stage rule's stage must exist in the pipeline (422 naming the field)."""
    if body.trigger == "stage":
        client = await company_client(request, session, admin.company_id, admin.id)
        await check_stage(client, body)
    return rule_out(await create_rule(session, admin.company_id, admin.id, body))


@router.put("/rules/{rule_id}", response_model=RuleOut)
async def change_rule(
    rule_id: str, body: RuleIn, request: Request, session: DbSession, admin: CurrentAdmin
) -> RuleOut:
    """Edit a rule (a new version; firings under way keep theirs)."""
    if await AutomationRepository(session, admin.company_id).rule(rule_id) is None:
        raise NotFound("No such invoice rule.")
    if body.trigger == "stage":
        client = await company_client(request, session, admin.company_id, admin.id)
        await check_stage(client, body)
    return rule_out(await edit_rule(session, admin.company_id, rule_id, body))


@router.delete("/rules/{rule_id}", status_code=204)
async def remove_rule(rule_id: str, session: DbSession, admin: CurrentAdmin) -> Response:
    await delete_rule(session, admin.company_id, rule_id)
    return Response(status_code=204)


@router.get("/firings", response_model=list[FiringOut])
async def rule_log(session: DbSession, admin: CurrentAdmin) -> list[FiringOut]:
    """The rule log: each firing, newest first (deal, outcome, invoice or reason)."""
    repo = AutomationRepository(session, admin.company_id)
    names = {r.id: r.name for r in await repo.rules()}
    return [
        FiringOut(
            id=f.id,
            rule_id=f.rule_id,
            rule_name=names.get(f.rule_id) or str(f.rule_snapshot.get("name", "(deleted)")),
            rule_version=f.rule_version,
            deal_id=f.deal_id,
            source=f.source,
            outcome=f.outcome,
            reason=f.reason,
            invoice_row_id=f.invoice_row_id,
            note_id=f.note_id,
            activity_id=f.activity_id,
            created_at=f.created_at,
        )
        for f in await repo.firings()
    ]


@router.get("/settings", response_model=SettingsOut)
async def get_settings(session: DbSession, admin: CurrentAdmin) -> SettingsOut:
    row = await AutomationRepository(session, admin.company_id).settings()
    return SettingsOut(overdue_followup=row.overdue_followup, overdue_steps=row.overdue_steps)


@router.put("/settings", response_model=SettingsOut)
async def put_settings(body: SettingsIn, session: DbSession, admin: CurrentAdmin) -> SettingsOut:
    """Overdue follow-up on or off, and its reminder steps (days overdue)."""
    row = await AutomationRepository(session, admin.company_id).settings()
    row.overdue_followup = body.overdue_followup
    row.overdue_steps = body.overdue_steps
    return SettingsOut(overdue_followup=row.overdue_followup, overdue_steps=row.overdue_steps)
