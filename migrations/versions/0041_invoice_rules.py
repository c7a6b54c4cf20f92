"""invoice rules and overdue follow-ups

Invoice rules per company (fired by Pipedrive deal changes), their firings (the rule log), the
company's automation settings, and the overdue follow-up activities sent (one per invoice and
reminder step).

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _company() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "company_id",
        sa.String(length=36),
        sa.ForeignKey("company.id", ondelete="CASCADE"),
        nullable=False,
    )


def _stamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "invoice_rule",
        sa.Column("id", sa.String(length=36), primary_key=True),
        _company(),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=True),
        sa.Column("stage_id", sa.BigInteger(), nullable=True),
        sa.Column("only_with_products", sa.Boolean(), nullable=False),
        sa.Column("min_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.String(length=36), nullable=True),
        *_stamps(),
    )
    op.create_index("ix_invoice_rule_company_id", "invoice_rule", ["company_id"])
    op.create_table(
        "rule_firing",
        sa.Column("id", sa.String(length=36), primary_key=True),
        _company(),
        sa.Column("rule_id", sa.String(length=36), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("rule_snapshot", sa.JSON(), nullable=False),
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("reason_digest", sa.String(length=64), nullable=True),
        sa.Column("invoice_row_id", sa.String(length=36), nullable=True),
        sa.Column("note_id", sa.BigInteger(), nullable=True),
        sa.Column("activity_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "company_id", "rule_id", "deal_id", "reason_digest", name="uq_rule_firing_reasons"
        ),
    )
    op.create_index(
        "ix_rule_firing_company_created", "rule_firing", ["company_id", "created_at"]
    )
    op.create_index(
        "ix_rule_firing_rule_deal", "rule_firing", ["company_id", "rule_id", "deal_id"]
    )
    op.create_table(
        "automation_settings",
        sa.Column(
            "company_id",
            sa.String(length=36),
            sa.ForeignKey("company.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("overdue_followup", sa.Boolean(), nullable=False),
        sa.Column("overdue_steps", sa.JSON(), nullable=False),
        sa.Column("deals_read_until", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
    )
    op.create_table(
        "overdue_followup",
        sa.Column("id", sa.String(length=36), primary_key=True),
        _company(),
        sa.Column("invoice_row_id", sa.String(length=36), nullable=False),
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.UniqueConstraint(
            "company_id",
            "invoice_row_id",
            "step",
            name="uq_overdue_followup_company_id_invoice_row_id_step",
        ),
    )


def downgrade() -> None:
    op.drop_table("overdue_followup")
    op.drop_table("automation_settings")
    op.drop_index("ix_rule_firing_rule_deal", "rule_firing")
    op.drop_index("ix_rule_firing_company_created", "rule_firing")
    op.drop_table("rule_firing")
    op.drop_index("ix_invoice_rule_company_id", "invoice_rule")
    op.drop_table("invoice_rule")
