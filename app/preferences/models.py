from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, new_uuid


class InvoicingPreference(TimestampMixin, Base):
    """A company's invoicing preferences for one accounting provider.

    Field sources are stored as ``entity:key`` (``organization:name``, ``deal:<40-char hash>``),
    the key being Pipedrive's own field key, so that a renamed custom field keeps working and a
    deleted one can be detected against the live field definitions.
    """

    __tablename__ = "invoicing_preference"
    __table_args__ = (UniqueConstraint("company_id", "provider"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    to_field: Mapped[str | None] = mapped_column(String(128))
    address_field: Mapped[str | None] = mapped_column(String(128))
    email_field: Mapped[str | None] = mapped_column(String(128))
    tax_id_field: Mapped[str | None] = mapped_column(String(128))
    due_rule: Mapped[str] = mapped_column(String(32))
    due_days: Mapped[int]
    use_contact_terms: Mapped[bool] = mapped_column(default=True)
    tax_mode: Mapped[str] = mapped_column(String(16))
    tax_rate: Mapped[str | None] = mapped_column(String(64))
    revenue_account: Mapped[str | None] = mapped_column(String(64))
    template: Mapped[str | None] = mapped_column(String(128))
    update_customer_info: Mapped[bool] = mapped_column(default=False)
    reference_template: Mapped[str] = mapped_column(String(255))
    # Who saved last; a plain id (no foreign key) so that the user's uninstall leaves it be.
    updated_by_user_id: Mapped[str | None] = mapped_column(String(36))
