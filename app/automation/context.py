"""The invoice flows' context for automation work in a worker: acting as the rule's author (an
admin), with the process's caches, exactly as that admin's click would."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from app.automation.conditions import RuleSpec
from app.automation.models import InvoiceRule, RuleFiring
from app.connections.dependencies import tokens_of
from app.crm.pipedrive.client import FieldDefinitionCache
from app.invoices.context import InvoiceContext, MetaCache
from app.tenants.models import CrmUser


def spec_of(rule: InvoiceRule) -> RuleSpec:
    return RuleSpec(
        id=rule.id,
        version=rule.version,
        name=rule.name,
        provider=rule.provider,
        trigger=rule.trigger,
        pipeline_id=rule.pipeline_id,
        stage_id=rule.stage_id,
        only_with_products=rule.only_with_products,
        min_amount_minor=rule.min_amount_minor,
        currency=rule.currency,
        active_since=rule.active_since,
    )


async def actor(state: Any, company_id: str, user_id: str | None) -> CrmUser:
    """The user a rule acts as: its author, or an id-only stand-in when they have left (the
    company's installs still read Pipedrive)."""
    async with state.sessionmaker() as session:
        user = await session.get(CrmUser, user_id) if user_id else None
    if user is None or user.company_id != company_id:
        user = CrmUser(id=user_id or "", company_id=company_id, name="", is_admin=True)
    return user


def rule_context(state: Any, user: CrmUser) -> InvoiceContext:
    cache = getattr(state, "invoice_meta", None)
    if cache is None:
        cache = state.invoice_meta = MetaCache()
    fields = getattr(state, "pipedrive_fields", None) or FieldDefinitionCache()
    return InvoiceContext(
        settings=state.settings,
        sessionmaker=state.sessionmaker,
        http=state.http,
        tokens=tokens_of(state),
        fields=fields,
        user=user,
        meta_cache=cache,
    )


async def insert_firing(state: Any, row: RuleFiring) -> bool:
    """Record a firing in its own transaction; False when its reasons were recorded already
    (``uq_rule_firing_reasons``: the twin firing got there first)."""
    async with state.sessionmaker() as session:
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return False
    return True


async def update_firing(state: Any, firing_id: str, **values: object) -> None:
    async with state.sessionmaker() as session:
        row = await session.get(RuleFiring, firing_id)
        if row is None:
            return
        for name, value in values.items():
            setattr(row, name, value)
        await session.commit()


async def forget_firing(state: Any, firing_id: str) -> None:
    async with state.sessionmaker() as session:
        row = await session.get(RuleFiring, firing_id)
        if row is not None:
            await session.delete(row)
            await session.commit()
