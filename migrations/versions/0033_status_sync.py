"""status sync: provider versions on invoices, sync health on connections

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal_invoice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_updated_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("provider_version", sa.String(length=32)))
    with op.batch_alter_table("provider_connection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("synced_until", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("last_sync_at", sa.DateTime(timezone=True)))
        batch_op.add_column(
            sa.Column("last_sync_error", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("last_sync_error_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("provider_connection", schema=None) as batch_op:
        batch_op.drop_column("last_sync_error_at")
        batch_op.drop_column("last_sync_error")
        batch_op.drop_column("last_sync_at")
        batch_op.drop_column("synced_until")
    with op.batch_alter_table("deal_invoice", schema=None) as batch_op:
        batch_op.drop_column("provider_version")
        batch_op.drop_column("provider_updated_at")
