"""audit_event, pipedrive OAuth state and refresh guard, invoicing_preference

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "audit_event",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=True),
        sa.Column("pipedrive_company_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_user_id", sa.String(length=36), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_company_id"), ["company_id"], unique=False)

    op.create_table(
        "pipedrive_oauth_state",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_pipedrive_oauth_state")),
    )
    with op.batch_alter_table("pipedrive_oauth_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pipedrive_oauth_state_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "invoicing_preference",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("to_field", sa.String(length=128), nullable=True),
        sa.Column("address_field", sa.String(length=128), nullable=True),
        sa.Column("email_field", sa.String(length=128), nullable=True),
        sa.Column("tax_id_field", sa.String(length=128), nullable=True),
        sa.Column("due_rule", sa.String(length=32), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("use_contact_terms", sa.Boolean(), nullable=False),
        sa.Column("tax_mode", sa.String(length=16), nullable=False),
        sa.Column("tax_rate", sa.String(length=64), nullable=True),
        sa.Column("revenue_account", sa.String(length=64), nullable=True),
        sa.Column("template", sa.String(length=128), nullable=True),
        sa.Column("update_customer_info", sa.Boolean(), nullable=False),
        sa.Column("reference_template", sa.String(length=255), nullable=False),
        sa.Column("updated_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
            name=op.f("fk_invoicing_preference_company_id_company"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoicing_preference")),
        sa.UniqueConstraint(
            "company_id", "provider", name=op.f("uq_invoicing_preference_company_id_provider")
        ),
    )
    with op.batch_alter_table("invoicing_preference", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoicing_preference_company_id"), ["company_id"], unique=False
        )

    with op.batch_alter_table("pipedrive_installation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("refresh_lease_until", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:

    with op.batch_alter_table("pipedrive_installation", schema=None) as batch_op:
        batch_op.drop_column("refresh_lease_until")
        batch_op.drop_column("token_version")

    with op.batch_alter_table("invoicing_preference", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoicing_preference_company_id"))

    op.drop_table("invoicing_preference")
    with op.batch_alter_table("pipedrive_oauth_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipedrive_oauth_state_expires_at"))

    op.drop_table("pipedrive_oauth_state")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_company_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))

    op.drop_table("audit_event")
