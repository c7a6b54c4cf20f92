"""job outbox and webhook inbox

Background work goes through an outbox table written in the same transaction as the change
that causes it; received webhook events are stored once per sender's dedupe key.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _company_fk(nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "company_id",
        sa.String(length=36),
        sa.ForeignKey("company.id", ondelete="CASCADE"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.String(length=36), primary_key=True),
        _company_fk(nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.String(length=36), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key", name="uq_job_key"),
    )
    op.create_index("ix_job_company_id", "job", ["company_id"])
    op.create_index("ix_job_due", "job", ["status", "run_after"])
    op.create_table(
        "webhook_event",
        sa.Column("id", sa.String(length=36), primary_key=True),
        _company_fk(nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=500), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("source", "dedupe_key", name="uq_webhook_event_source_dedupe_key"),
    )
    op.create_index("ix_webhook_event_received_at", "webhook_event", ["received_at"])
    op.create_index(
        "ix_webhook_event_company_received", "webhook_event", ["company_id", "received_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_event_company_received", "webhook_event")
    op.drop_index("ix_webhook_event_received_at", "webhook_event")
    op.drop_table("webhook_event")
    op.drop_index("ix_job_due", "job")
    op.drop_index("ix_job_company_id", "job")
    op.drop_table("job")
