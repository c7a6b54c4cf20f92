"""parts of a deal: deposits, milestones and the balance

- ``deal_invoice.part_label``, ``part_kind``: the part an invoice is (None: the whole deal);
- ``deal_invoice.part_amount_minor``: what it invoices of the deal, in minor units (net of
  discounts, before tax when tax exclusive);
- ``deal_invoice.deal_amount_minor``: the deal's value it was a part of.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal_invoice") as batch:
        batch.add_column(sa.Column("part_label", sa.String(100), nullable=True))
        batch.add_column(sa.Column("part_kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("part_amount_minor", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("deal_amount_minor", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deal_invoice") as batch:
        batch.drop_column("deal_amount_minor")
        batch.drop_column("part_amount_minor")
        batch.drop_column("part_kind")
        batch.drop_column("part_label")
