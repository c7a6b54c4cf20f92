"""the refresh token's hard cap (QuickBooks' x_refresh_token_hard_expires_in)

- ``provider_connection.refresh_hard_expires_at``: when the refresh token stops working for
  good (five years from the consent at most); admins are warned 30 days before.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("provider_connection") as batch:
        batch.add_column(sa.Column("refresh_hard_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_connection") as batch:
        batch.drop_column("refresh_hard_expires_at")
