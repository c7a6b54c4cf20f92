"""user locale and company timezone, as Pipedrive gives them

- ``crm_user.locale`` (Pipedrive's ``users/me`` ``locale``, e.g. ``en_NZ``, ``de_DE``): the
  dialog reads amounts and quantities the way this user writes numbers.
- ``company.timezone`` (``users/me`` ``timezone_name`` of whoever installed or signed in last):
  the one timezone a company's invoice dates are in, whichever provider it invoices in.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_user") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=32), nullable=True))
    with op.batch_alter_table("company") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("company") as batch:
        batch.drop_column("timezone")
    with op.batch_alter_table("crm_user") as batch:
        batch.drop_column("locale")
