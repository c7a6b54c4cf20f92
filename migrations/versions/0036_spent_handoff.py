"""spent one-time sign-in codes

The nonces of one-time sign-in codes (``?handoff=``) already traded for a session, so a code
works once: sessions no longer travel in URLs.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spent_handoff",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_spent_handoff")),
    )
    op.create_index(op.f("ix_spent_handoff_expires_at"), "spent_handoff", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_spent_handoff_expires_at"), table_name="spent_handoff")
    op.drop_table("spent_handoff")
