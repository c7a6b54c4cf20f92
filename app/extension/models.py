"""The provider links Pipedrive's Invoicing extension knows us by."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, new_uuid


class InvoicingLink(TimestampMixin, Base):
    """One company's provider connection as registered with Pipedrive.

    ``link_id`` is the ``:linkId`` of every extension URL: a random UUIDv4, the only thing that
    says which company a Pipedrive call is for, so it is treated as an unguessable secret. One row
    per (company, provider): reconnecting the same organisation keeps the link id; connecting a
    different organisation gives a new one, so an old id can never reach the new organisation.
    """

    __tablename__ = "pipedrive_invoicing_link"
    __table_args__ = (UniqueConstraint("company_id", "provider", name="uq_invoicing_link"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    link_id: Mapped[str] = mapped_column(String(36), unique=True)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    # The admin who registered it: Pipedrive calls act as this user (audit, created_by).
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("crm_user.id", ondelete="SET NULL"), default=None
    )
    provider: Mapped[str] = mapped_column(String(20))
    # Xero tenantId / QuickBooks realmId: the ``orgId`` sent to Pipedrive.
    tenant_id: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime | None] = mapped_column(default=None)
    redirect_url: Mapped[str | None] = mapped_column(String(1024), default=None)
