"""recurring schedules held at the provider (issue 16 item 3)

- ``billing_schedule.provider_schedule_id``: the provider's repeating invoice (Xero
  RepeatingInvoiceID) when the provider holds the schedule; the worker never runs such a row.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0044"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_schedule") as batch:
        batch.add_column(sa.Column("provider_schedule_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_schedule") as batch:
        batch.drop_column("provider_schedule_id")
