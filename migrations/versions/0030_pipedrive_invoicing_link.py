"""pipedrive_invoicing_link

Revision ID: 0030
Revises: 0020
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pipedrive_invoicing_link",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("link_id", sa.String(length=36), nullable=False),
        sa.Column(
            "company_id",
            sa.String(length=36),
            sa.ForeignKey("company.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.String(length=36),
            sa.ForeignKey("crm_user.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redirect_url", sa.String(length=1024), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("link_id", name="uq_pipedrive_invoicing_link_link_id"),
        sa.UniqueConstraint("company_id", "provider", name="uq_invoicing_link"),
    )
    op.create_index(
        "ix_pipedrive_invoicing_link_company_id", "pipedrive_invoicing_link", ["company_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_pipedrive_invoicing_link_company_id", "pipedrive_invoicing_link")
    op.drop_table("pipedrive_invoicing_link")
