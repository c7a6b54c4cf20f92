"""deal_invoice.deal_id nullable: invoices created without a deal

Pipedrive's Invoicing extension creates invoices that name no deal (postInvoice carries none);
they were recorded as deal 0. The column becomes nullable and those rows say "no deal".

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal_invoice", schema=None) as batch_op:
        batch_op.alter_column("deal_id", existing_type=sa.BigInteger(), nullable=True)
    # Pipedrive's ids start at 1: deal 0 only ever meant "no deal".
    op.execute("UPDATE deal_invoice SET deal_id = NULL WHERE deal_id = 0")


def downgrade() -> None:
    op.execute("UPDATE deal_invoice SET deal_id = 0 WHERE deal_id IS NULL")
    with op.batch_alter_table("deal_invoice", schema=None) as batch_op:
        batch_op.alter_column("deal_id", existing_type=sa.BigInteger(), nullable=False)
