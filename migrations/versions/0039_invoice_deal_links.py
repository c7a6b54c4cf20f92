"""invoice ↔ deal links and the contact's invoices mirrored from the provider

- ``deal_invoice.source``: "app" (created here) or "provider" (mirrored: made in Xero or
  QuickBooks directly, or elsewhere), so the deal panel's "View all invoices" and the
  extension's search and summary answer from our rows.
- ``deal_invoice_link``: which deals list which invoice (many to many). Every existing invoice
  gets the link to the deal it was created from.
- ``contact_mirror``: when a contact's invoices were last read in full.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal_invoice") as batch:
        batch.add_column(
            sa.Column("source", sa.String(16), nullable=False, server_default="app")
        )
        batch.create_index(
            "ix_deal_invoice_contact", ["company_id", "provider", "contact_id", "issue_date"]
        )
    op.create_table(
        "deal_invoice_link",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "company_id", sa.String(36), sa.ForeignKey("company.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "invoice_id",
            sa.String(36),
            sa.ForeignKey("deal_invoice.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("linked_by_user_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("invoice_id", "deal_id", name="uq_deal_invoice_link"),
    )
    op.create_index("ix_deal_invoice_link_deal", "deal_invoice_link", ["company_id", "deal_id"])
    op.create_table(
        "contact_mirror",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "company_id", sa.String(36), sa.ForeignKey("company.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("company_id", "provider", "contact_id"),
    )
    # The deal each existing invoice was created from lists it, as before.
    op.execute(
        "INSERT INTO deal_invoice_link (id, company_id, invoice_id, deal_id, linked_by_user_id,"
        " created_at) SELECT id, company_id, id, deal_id, created_by_user_id, created_at"
        " FROM deal_invoice WHERE deal_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("contact_mirror")
    op.drop_index("ix_deal_invoice_link_deal", table_name="deal_invoice_link")
    op.drop_table("deal_invoice_link")
    with op.batch_alter_table("deal_invoice") as batch:
        batch.drop_index("ix_deal_invoice_contact")
        batch.drop_column("source")
