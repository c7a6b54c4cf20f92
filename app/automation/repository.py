"""Company-scoped access to rules, firings, settings and follow-ups (built with the company:
another company's id is simply not found)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation.models import AutomationSettings, InvoiceRule, OverdueFollowup, RuleFiring


class AutomationRepository:
    def __init__(self, session: AsyncSession, company_id: str) -> None:
        self.session = session
        self.company_id = company_id

    async def rules(self, enabled_only: bool = False) -> list[InvoiceRule]:
        query = select(InvoiceRule).where(InvoiceRule.company_id == self.company_id)
        if enabled_only:
            query = query.where(InvoiceRule.enabled.is_(True))
        return list(await self.session.scalars(query.order_by(InvoiceRule.created_at)))

    async def rule(self, rule_id: str) -> InvoiceRule | None:
        row = await self.session.get(InvoiceRule, rule_id)
        return row if row is not None and row.company_id == self.company_id else None

    async def firings(self, limit: int = 200) -> list[RuleFiring]:
        rows = await self.session.scalars(
            select(RuleFiring)
            .where(RuleFiring.company_id == self.company_id)
            .order_by(RuleFiring.created_at.desc())
            .limit(limit)
        )
        return list(rows)

    async def last_firing(self, rule_id: str, deal_id: int) -> RuleFiring | None:
        rows = await self.session.scalars(
            select(RuleFiring)
            .where(
                RuleFiring.company_id == self.company_id,
                RuleFiring.rule_id == rule_id,
                RuleFiring.deal_id == deal_id,
            )
            .order_by(RuleFiring.created_at.desc())
            .limit(1)
        )
        return rows.first()

    async def open_blocks(self, rule_id: str, deal_id: int) -> list[RuleFiring]:
        """Blocked firings of (rule, deal) whose fix-it activity is still open."""
        rows = await self.session.scalars(
            select(RuleFiring).where(
                RuleFiring.company_id == self.company_id,
                RuleFiring.rule_id == rule_id,
                RuleFiring.deal_id == deal_id,
                RuleFiring.outcome == "blocked",
                RuleFiring.activity_id.is_not(None),
            )
        )
        return list(rows)

    async def settings(self) -> AutomationSettings:
        row = await self.session.get(AutomationSettings, self.company_id)
        if row is None:
            row = AutomationSettings(
                company_id=self.company_id, overdue_followup=False, overdue_steps=[1, 7, 14]
            )
            self.session.add(row)
            await self.session.flush()
        return row

    async def followups(self, invoice_row_id: str | None = None) -> list[OverdueFollowup]:
        query = select(OverdueFollowup).where(OverdueFollowup.company_id == self.company_id)
        if invoice_row_id is not None:
            query = query.where(OverdueFollowup.invoice_row_id == invoice_row_id)
        return list(await self.session.scalars(query.order_by(OverdueFollowup.created_at)))
