"""provider_connection, connection_oauth_nonce, pending_connection

Revision ID: 0010
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("status != 'disconnected'")


def upgrade() -> None:
    op.create_table(
        "provider_connection",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_name", sa.String(length=255), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("short_code", sa.String(length=32), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=False),
        sa.Column("connected_by_id", sa.String(length=36), nullable=True),
        sa.Column("connected_by_name", sa.String(length=255), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disconnected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_user_email", sa.String(length=320), nullable=False),
        sa.Column("provider_role", sa.String(length=40), nullable=False),
        sa.Column("xero_connection_id", sa.String(length=64), nullable=True),
        sa.Column("auth_event_id", sa.String(length=64), nullable=True),
        sa.Column("scopes", sa.String(length=1024), nullable=False),
        sa.Column("access_token", sa.String(length=4096), nullable=True),
        sa.Column("refresh_token", sa.String(length=2048), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("previous_refresh_token", sa.String(length=2048), nullable=True),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("refresh_lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"],
            name=op.f("fk_provider_connection_company_id_company"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connected_by_id"], ["crm_user.id"],
            name=op.f("fk_provider_connection_connected_by_id_crm_user"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_connection")),
    )
    op.create_index(
        op.f("ix_provider_connection_company_id"), "provider_connection", ["company_id"]
    )
    # One live connection per company and provider; one live company per organisation.
    op.create_index(
        "uq_provider_connection_live", "provider_connection", ["company_id", "provider"],
        unique=True, sqlite_where=LIVE, postgresql_where=LIVE,
    )
    op.create_index(
        "uq_provider_connection_live_tenant", "provider_connection", ["provider", "tenant_id"],
        unique=True, sqlite_where=LIVE, postgresql_where=LIVE,
    )
    op.create_table(
        "connection_oauth_nonce",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"],
            name=op.f("fk_connection_oauth_nonce_company_id_company"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_connection_oauth_nonce")),
    )
    op.create_index(
        op.f("ix_connection_oauth_nonce_company_id"), "connection_oauth_nonce", ["company_id"]
    )
    op.create_table(
        "pending_connection",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.String(length=16000), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"],
            name=op.f("fk_pending_connection_company_id_company"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["crm_user.id"],
            name=op.f("fk_pending_connection_user_id_crm_user"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_connection")),
    )
    op.create_index(
        op.f("ix_pending_connection_company_id"), "pending_connection", ["company_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_connection_company_id"), table_name="pending_connection")
    op.drop_table("pending_connection")
    op.drop_index(op.f("ix_connection_oauth_nonce_company_id"), table_name="connection_oauth_nonce")
    op.drop_table("connection_oauth_nonce")
    op.drop_index("uq_provider_connection_live_tenant", table_name="provider_connection")
    op.drop_index("uq_provider_connection_live", table_name="provider_connection")
    op.drop_index(op.f("ix_provider_connection_company_id"), table_name="provider_connection")
    op.drop_table("provider_connection")
