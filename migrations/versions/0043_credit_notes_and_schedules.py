"""credit notes on our invoices, and recurring billing schedules (issue 16 items 2 and 3)

- ``credit_note``: one credit note per (company, Idempotency-Key), its provider id, total and
  what was applied to the invoice;
- ``deal_invoice.amount_credited_minor``: credit applied to the invoice, as the provider says;
- ``billing_schedule``: a deal's recurring products of one frequency, billed per period.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal_invoice") as batch:
        batch.add_column(
            sa.Column("amount_credited_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        "credit_note",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "company_id", sa.String(36), sa.ForeignKey("company.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "deal_invoice_id",
            sa.String(36),
            sa.ForeignKey("deal_invoice.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider_credit_id", sa.String(64), nullable=True),
        sa.Column("number", sa.String(64), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("applied_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(255), nullable=True),
        sa.Column("created_by_user_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("company_id", "idempotency_key", name="uq_credit_note_key"),
    )
    op.create_index("ix_credit_note_invoice", "credit_note", ["company_id", "deal_invoice_id"])
    op.create_table(
        "billing_schedule",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "company_id",
            sa.String(36),
            sa.ForeignKey("company.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("set_key", sa.String(255), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("start_from_close", sa.Boolean(), nullable=False),
        sa.Column("periods_done", sa.Integer(), nullable=False),
        sa.Column("next_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.String(2000), nullable=True),
        sa.Column("created_by_user_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("company_id", "provider", "set_key", name="uq_billing_schedule_set"),
    )
    op.create_index("ix_billing_schedule_due", "billing_schedule", ["status", "next_date"])


def downgrade() -> None:
    op.drop_index("ix_billing_schedule_due", table_name="billing_schedule")
    op.drop_table("billing_schedule")
    op.drop_index("ix_credit_note_invoice", table_name="credit_note")
    op.drop_table("credit_note")
    with op.batch_alter_table("deal_invoice") as batch:
        batch.drop_column("amount_credited_minor")
