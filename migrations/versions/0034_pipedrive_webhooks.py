"""pipedrive webhook subscriptions

The company's webhook subscriptions at Pipedrive (one per event object), registered once per
company at install and deleted when the company leaves.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pipedrive_webhook",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column(
            "company_id",
            sa.String(length=36),
            sa.ForeignKey("company.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_object", sa.String(length=40), nullable=False),
        sa.Column("event_action", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("installation_id", sa.String(length=36), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "company_id", "event_object", name="uq_pipedrive_webhook_company_id_event_object"
        ),
    )
    op.create_index("ix_pipedrive_webhook_company_id", "pipedrive_webhook", ["company_id"])


def downgrade() -> None:
    op.drop_index("ix_pipedrive_webhook_company_id", "pipedrive_webhook")
    op.drop_table("pipedrive_webhook")
