"""invoice intents: one provider invoice per intent, resolved in the background

- ``uq_deal_invoice_provider_invoice``: a provider invoice belongs to at most one intent.
  Rows recorded before this revision could point several intents at one invoice (the old
  reconcile adopted look-alikes); every such row but the first is kept as history, marked
  ``failed`` with its link removed, so the constraint can hold.
- ``claim_token``: who works on the intent now; only its holder may record the outcome.
- ``deal_url``: the URL sent with the invoice (it carries the intent's marker at Xero), so
  the background reconciler sends exactly what the request would have.
- ``tries``: how many times the reconciler has worked on it (its backoff).

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _unlink_duplicates() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, company_id, provider, provider_invoice_id FROM deal_invoice "
            "WHERE provider_invoice_id IS NOT NULL ORDER BY created_at, id"
        )
    ).all()
    seen: dict[tuple[str, str, str], str] = {}
    for row_id, company_id, provider, invoice_id in rows:
        key = (company_id, provider, invoice_id)
        if key not in seen:
            seen[key] = row_id
            continue
        bind.execute(
            sa.text(
                "UPDATE deal_invoice SET status = 'failed', provider_invoice_id = NULL, "
                "failure_reason = :reason WHERE id = :id"
            ),
            {
                "id": row_id,
                "reason": f"was recorded as the same invoice as {seen[key]} (removed in 0035)",
            },
        )


def upgrade() -> None:
    _unlink_duplicates()
    with op.batch_alter_table("deal_invoice") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("deal_url", sa.String(length=512), nullable=True))
        batch.add_column(sa.Column("tries", sa.Integer(), nullable=False, server_default="0"))
        batch.create_unique_constraint(
            "uq_deal_invoice_provider_invoice",
            ["company_id", "provider", "provider_invoice_id"],
        )
    op.create_index("ix_deal_invoice_open", "deal_invoice", ["status", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_deal_invoice_open", "deal_invoice")
    with op.batch_alter_table("deal_invoice") as batch:
        batch.drop_constraint("uq_deal_invoice_provider_invoice", type_="unique")
        batch.drop_column("tries")
        batch.drop_column("deal_url")
        batch.drop_column("claim_token")
