"""Managing invoice rules (admins): create, edit (a new version), delete, and turning off a
rule whose pipeline stage no longer exists (with the reason shown)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.automation.models import InvoiceRule
from app.automation.repository import AutomationRepository
from app.automation.schemas import RuleIn, RuleOut
from app.crm.pipedrive.client import PipedriveClient
from app.crm.pipedrive.errors import PipedriveNotFound
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.providers.money import from_minor, to_minor


def rule_out(rule: InvoiceRule) -> RuleOut:
    amount = rule.min_amount_minor
    return RuleOut(
        id=rule.id,
        name=rule.name,
        provider=rule.provider,
        trigger=rule.trigger,
        pipeline_id=rule.pipeline_id,
        stage_id=rule.stage_id,
        only_with_products=rule.only_with_products,
        min_amount=from_minor(amount, rule.currency or "USD") if amount is not None else None,
        currency=rule.currency,
        enabled=rule.enabled,
        disabled_reason=rule.disabled_reason,
        version=rule.version,
    )


async def check_stage(client: PipedriveClient, body: RuleIn) -> None:
    """A stage rule names a stage of its pipeline that exists (422 naming the field)."""
    if body.trigger != "stage" or body.stage_id is None:
        return
    try:
        stage = await client.stage(body.stage_id)
    except PipedriveNotFound as exc:
        raise ValidationFailed(
            f"Pipedrive has no stage {body.stage_id}.", field="stage_id"
        ) from exc
    if stage.get("pipeline_id") != body.pipeline_id:
        raise ValidationFailed(
            f"The stage {stage.get('name') or body.stage_id} is not in pipeline "
            f"{body.pipeline_id}.",
            field="pipeline_id",
        )


def _values(body: RuleIn) -> dict[str, Any]:
    stage = body.trigger == "stage"
    return {
        "name": body.name.strip(),
        "provider": body.provider,
        "trigger": body.trigger,
        "pipeline_id": body.pipeline_id if stage else None,
        "stage_id": body.stage_id if stage else None,
        "only_with_products": body.only_with_products,
        "min_amount_minor": to_minor(body.min_amount, body.currency or "USD")
        if body.min_amount is not None
        else None,
        "currency": body.currency,
        "enabled": body.enabled,
    }


async def create_rule(
    session: AsyncSession, company_id: str, user_id: str, body: RuleIn
) -> InvoiceRule:
    rule = InvoiceRule(
        company_id=company_id, created_by_user_id=user_id, active_since=utcnow(), **_values(body)
    )
    session.add(rule)
    await session.flush()
    return rule


async def edit_rule(
    session: AsyncSession, company_id: str, rule_id: str, body: RuleIn
) -> InvoiceRule:
    """A new version: firings already started keep the version they snapshotted."""
    rule = await AutomationRepository(session, company_id).rule(rule_id)
    if rule is None:
        raise NotFound("No such invoice rule.")
    was_enabled = rule.enabled
    for name, value in _values(body).items():
        setattr(rule, name, value)
    rule.version += 1
    rule.disabled_reason = None
    if body.enabled and not was_enabled:
        # Turned on again: deals that matched while it was off are not back-billed.
        rule.active_since = utcnow()
    await session.flush()
    return rule


async def delete_rule(session: AsyncSession, company_id: str, rule_id: str) -> None:
    rule = await AutomationRepository(session, company_id).rule(rule_id)
    if rule is None:
        raise NotFound("No such invoice rule.")
    await session.delete(rule)


async def disable_missing_stages(
    session: AsyncSession, company_id: str, client: PipedriveClient
) -> list[str]:
    """Turn off enabled stage rules whose stage is gone from Pipedrive, saying why."""
    off: list[str] = []
    for rule in await AutomationRepository(session, company_id).rules(enabled_only=True):
        if rule.trigger != "stage" or rule.stage_id is None:
            continue
        try:
            stage = await client.stage(rule.stage_id)
        except PipedriveNotFound:
            stage = None
        if stage is None or stage.get("pipeline_id") != rule.pipeline_id:
            rule.enabled = False
            rule.disabled_reason = (
                f"Turned off: stage {rule.stage_id} of pipeline {rule.pipeline_id} no longer "
                "exists in Pipedrive. Choose another stage to turn it on again."
            )
            off.append(rule.id)
    return off
