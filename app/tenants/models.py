from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, TimestampMixin, new_uuid, utcnow


class Company(TimestampMixin, Base):
    """A Pipedrive company: the tenant. Everything tenant-owned hangs off its id."""

    __tablename__ = "company"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    pipedrive_company_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    domain: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(String(255), default="")
    # Pipedrive's timezone_name for the company (users/me): the one timezone its invoice dates
    # are in, whatever provider it invoices in (app.invoices.rules.dates.company_zone).
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    # Whether each invoice changelog event is also written to its deal in Pipedrive as a note
    # (admins turn it off on the changelog page).
    changelog_notes: Mapped[bool] = mapped_column(default=True, server_default=true())

    users: Mapped[list[CrmUser]] = relationship(
        back_populates="company", cascade="all, delete-orphan", passive_deletes=True
    )


class CrmUser(TimestampMixin, Base):
    """A Pipedrive user of a company who installed the app."""

    __tablename__ = "crm_user"
    __table_args__ = (UniqueConstraint("company_id", "pipedrive_user_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    pipedrive_user_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Pipedrive's locale for the user (en_NZ, de_DE): how they write numbers in our forms.
    locale: Mapped[str | None] = mapped_column(String(32), default=None)
    # The Pipedrive permission set of the user's sales app (``users/me`` ``access[]``): a
    # permission set an admin gave rules of its own decides what a regular user may do.
    permission_set_id: Mapped[str | None] = mapped_column(String(64), default=None)

    company: Mapped[Company] = relationship(back_populates="users")


class RolePermissions(Base):
    """What one role of a company may do (``app.tenants.permissions``): ``admin``, ``regular``
    or ``set:<Pipedrive permission set id>``. No row: the defaults."""

    __tablename__ = "role_permissions"

    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(80), primary_key=True)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_user_id: Mapped[str | None] = mapped_column(String(36), default=None)


class AuditEvent(Base):
    """An audit line: ids, counts and short labels, never customer data.

    Invoice events (``invoice.*``) are the invoice changelog: they carry the deal, the provider
    and its invoice id in columns (the panel and the admin page filter on them), the actor's
    name as it was then (a user who left still has their lines), and the Pipedrive note the
    event became (``note_id``: set once posted, so a retried job posts nothing more).

    A company's lines go with it when it is purged; what survives is one anonymous
    ``company.purged`` line (no ids, counts only), which is why there is no foreign key to
    ``company``.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_company_deal", "company_id", "deal_id", "at"),
        Index("ix_audit_event_company_invoice", "company_id", "provider_invoice_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    company_id: Mapped[str | None] = mapped_column(String(36), index=True)
    pipedrive_company_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_user_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deal_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    provider: Mapped[str | None] = mapped_column(String(32), default=None)
    provider_invoice_id: Mapped[str | None] = mapped_column(String(64), default=None)
    actor_name: Mapped[str | None] = mapped_column(String(255), default=None)
    note_id: Mapped[str | None] = mapped_column(String(32), default=None)


class SpentHandoff(Base):
    """A spent one-time sign-in code (``handoff``): the signature proves we issued the code,
    this row that it was used once. No tenant data; rows past ``expires_at`` are swept."""

    __tablename__ = "spent_handoff"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
