"""pipedrive_installation: a user's encrypted OAuth tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pipedrive_installation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("access_token", sa.String(length=2048), nullable=False),
        sa.Column("refresh_token", sa.String(length=2048), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_domain", sa.String(length=255), nullable=False),
        sa.Column("scopes", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"],
            name=op.f("fk_pipedrive_installation_company_id_company"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["crm_user.id"],
            name=op.f("fk_pipedrive_installation_user_id_crm_user"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipedrive_installation")),
        sa.UniqueConstraint("user_id", name=op.f("uq_pipedrive_installation_user_id")),
    )
    op.create_index(
        op.f("ix_pipedrive_installation_company_id"), "pipedrive_installation", ["company_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pipedrive_installation_company_id"), table_name="pipedrive_installation")
    op.drop_table("pipedrive_installation")
