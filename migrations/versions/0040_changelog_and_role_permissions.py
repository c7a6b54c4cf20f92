"""invoice changelog columns, role permissions, the user's permission set

- ``audit_event`` gains the changelog's columns (deal, provider, provider invoice id, the
  actor's name then, the Pipedrive note it became) and two indexes for the per-invoice and
  per-company views.
- ``role_permissions``: what each role of a company may do (no row: the defaults).
- ``crm_user.permission_set_id``: the sales app's permission set from ``users/me``.
- ``company.changelog_notes``: whether changelog events become notes on the deal.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("deal_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("provider", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("provider_invoice_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("actor_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("note_id", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_audit_event_company_deal", "audit_event", ["company_id", "deal_id", "at"]
    )
    op.create_index(
        "ix_audit_event_company_invoice", "audit_event", ["company_id", "provider_invoice_id"]
    )
    op.create_table(
        "role_permissions",
        sa.Column(
            "company_id",
            sa.String(length=36),
            sa.ForeignKey("company.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(length=80), primary_key=True),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_user_id", sa.String(length=36), nullable=True),
    )
    with op.batch_alter_table("crm_user") as batch:
        batch.add_column(sa.Column("permission_set_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("company") as batch:
        batch.add_column(
            sa.Column("changelog_notes", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("company") as batch:
        batch.drop_column("changelog_notes")
    with op.batch_alter_table("crm_user") as batch:
        batch.drop_column("permission_set_id")
    op.drop_table("role_permissions")
    op.drop_index("ix_audit_event_company_invoice", table_name="audit_event")
    op.drop_index("ix_audit_event_company_deal", table_name="audit_event")
    with op.batch_alter_table("audit_event") as batch:
        for name in ("note_id", "actor_name", "provider_invoice_id", "provider", "deal_id"):
            batch.drop_column(name)
