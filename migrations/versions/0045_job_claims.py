"""how many times a job was handed out (issue 17)

- ``job.claims``: incremented by the dispatcher's claim, in the same statement. A job run
  under its first claim by the in-process broker (which never redelivers) is the only run
  there has been, so its handler may skip looking for the effect of an earlier one (the
  changelog-note job's search of the deal's notes).

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0045"
down_revision: str | None = "0044"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(
            sa.Column("claims", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.drop_column("claims")
