"""Invoice rules, their firings (the rule log), the company's automation settings and the
overdue follow-ups sent (one per invoice and reminder step)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, new_uuid, utcnow


class Trigger:
    won = "won"  # the deal is won
    stage = "stage"  # the deal is in stage S of pipeline P


class Outcome:
    """What one firing did."""

    invoiced = "invoiced"  # the invoice exists at the provider (this firing or a twin's)
    pending = "pending"  # sent, outcome not known yet: the reconciler resolves the intent
    blocked = "blocked"  # cannot invoice: a note and an activity say what to fix
    failed = "failed"  # the provider refused it, or something else went wrong


class InvoiceRule(TimestampMixin, Base):
    """ "When a deal [is won | reaches stage S of pipeline P], create its invoice in
    ``provider``", with optional filters. ``version`` grows with every edit; a firing keeps
    the version it started with."""

    __tablename__ = "invoice_rule"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    provider: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    pipeline_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    stage_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    only_with_products: Mapped[bool] = mapped_column(default=False)
    min_amount_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Why the app turned the rule off (its stage or pipeline is gone), shown on the page.
    disabled_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    version: Mapped[int] = mapped_column(default=1)
    # Deals that matched before this moment are not invoiced by the rule (no back-billing).
    active_since: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[str | None] = mapped_column(String(36), default=None)


class RuleFiring(Base):
    """One evaluation of a rule for a deal that did something: the rule log."""

    __tablename__ = "rule_firing"
    __table_args__ = (
        Index("ix_rule_firing_company_created", "company_id", "created_at"),
        Index("ix_rule_firing_rule_deal", "company_id", "rule_id", "deal_id"),
        # A blocked firing's reasons are noted on the deal once: a second firing with the same
        # reasons (a twin process, the catch-up racing the webhook) loses this insert.
        UniqueConstraint(
            "company_id", "rule_id", "deal_id", "reason_digest", name="uq_rule_firing_reasons"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(36))
    rule_version: Mapped[int] = mapped_column(default=1)
    # The rule as it was when the firing started (an edit meanwhile does not change it).
    rule_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deal_id: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16), default="webhook")  # or catch-up
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(2000), default="")
    # A digest of the reasons a blocked firing gave: the same reasons again add no new note.
    reason_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    invoice_row_id: Mapped[str | None] = mapped_column(String(36), default=None)
    note_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    activity_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutomationSettings(TimestampMixin, Base):
    """Per company: the overdue follow-up switch and its reminder steps (days overdue)."""

    __tablename__ = "automation_settings"

    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), primary_key=True
    )
    overdue_followup: Mapped[bool] = mapped_column(default=False)
    overdue_steps: Mapped[list[int]] = mapped_column(JSON, default=lambda: [1, 7, 14])
    # When the rules' catch-up last read recently updated deals (the next reads from here).
    deals_read_until: Mapped[datetime | None] = mapped_column(default=None)


class OverdueFollowup(TimestampMixin, Base):
    """The activity made for one invoice at one reminder step (at most one: unique)."""

    __tablename__ = "overdue_followup"
    __table_args__ = (UniqueConstraint("company_id", "invoice_row_id", "step"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    invoice_row_id: Mapped[str] = mapped_column(String(36))
    deal_id: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column()
    activity_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    subject: Mapped[str] = mapped_column(String(255), default="")
    done: Mapped[bool] = mapped_column(default=False)
