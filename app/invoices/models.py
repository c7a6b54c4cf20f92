"""Invoices created from deals, and the remembered links between CRM records and provider
records (per company and provider)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, new_uuid, utcnow


class InvoiceStatus:
    """The intent's lifecycle (not the provider's status); docs/invoices.md draws it.

    pending: recorded before calling the provider; the holder of ``claim_token`` works on it
    until ``lease_until`` (renewed while it works);
    created: the provider confirmed it (ids, number, totals stored);
    unknown: it may or may not exist at the provider (lost answer, crash); resolved by the
    next request with the key or by the reconciler, never marked failed without the
    provider's definitive answer;
    failed: the provider refused it (``failure_reason``); the same key may try again.
    """

    pending = "pending"
    created = "created"
    unknown = "unknown"
    failed = "failed"


class DealInvoice(TimestampMixin, Base):
    """One invoice created from a deal, keyed by the dialog's Idempotency-Key."""

    __tablename__ = "deal_invoice"
    __table_args__ = (
        UniqueConstraint("company_id", "idempotency_key", name="uq_deal_invoice_key"),
        # One provider invoice belongs to at most one intent.
        UniqueConstraint(
            "company_id", "provider", "provider_invoice_id", name="uq_deal_invoice_provider_invoice"
        ),
        Index("ix_deal_invoice_deal", "company_id", "deal_id"),
        Index("ix_deal_invoice_open", "status", "lease_until"),
        Index("ix_deal_invoice_contact", "company_id", "provider", "contact_id", "issue_date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    # None: created without a deal (Pipedrive's Invoicing extension names none).
    deal_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    # A digest of the request body: the same key with a different body is refused (422).
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.pending)
    # Grows each time a failed attempt is retried, so the provider key of a new attempt differs.
    attempt: Mapped[int] = mapped_column(default=1)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    # Who works on it now (a request or the reconciler): only the holder records the outcome.
    claim_token: Mapped[str | None] = mapped_column(String(36), default=None)
    # How many times the reconciler has worked on it: its backoff grows with it.
    tries: Mapped[int] = mapped_column(default=0, server_default="0")
    # The URL sent with the invoice (deal link; at Xero it carries the intent's marker).
    deal_url: Mapped[str | None] = mapped_column(String(512), default=None)
    failure_reason: Mapped[str | None] = mapped_column(String(2000), default=None)
    provider_invoice_id: Mapped[str | None] = mapped_column(String(64), default=None)
    number: Mapped[str | None] = mapped_column(String(64), default=None)
    provider_status: Mapped[str | None] = mapped_column(String(32), default=None)
    contact_id: Mapped[str | None] = mapped_column(String(64), default=None)
    contact_name: Mapped[str | None] = mapped_column(String(255), default=None)
    # A contact we created for this invoice whose invoice then failed: kept and shown.
    orphan_contact_id: Mapped[str | None] = mapped_column(String(64), default=None)
    reference: Mapped[str | None] = mapped_column(String(255), default=None)
    currency: Mapped[str] = mapped_column(String(3), default="")
    issue_date: Mapped[date | None] = mapped_column(default=None)
    due_date: Mapped[date | None] = mapped_column(default=None)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_due_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Credit notes applied to it, as the provider says (Xero AmountCredited; QuickBooks' Balance
    # nets credits into what is paid). Migration 0043.
    amount_credited_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    url: Mapped[str | None] = mapped_column(String(512), default=None)
    # The provider's version of what we last applied (Xero UpdatedDateUTC, QuickBooks
    # MetaData.LastUpdatedTime and SyncToken): an older answer never overwrites a newer one.
    provider_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    provider_version: Mapped[str | None] = mapped_column(String(32), default=None)
    created_by_user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # A part of the deal (deposit, milestone, balance; migration 0042): None for the whole
    # deal. Amounts in minor units, net of discounts (rules/parts.py says what "value" is).
    part_label: Mapped[str | None] = mapped_column(String(100), default=None)
    part_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    part_amount_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    deal_amount_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    request_body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # "app": created here (an intent); "provider": mirrored from the provider (made in Xero or
    # QuickBooks directly, or by someone else), read with its contact's invoices.
    source: Mapped[str] = mapped_column(String(16), default="app", server_default="app")


class InvoiceSource:
    app = "app"
    provider = "provider"


class DealInvoiceLink(Base):
    """One invoice shown in one deal's list. An invoice may be linked to several deals; the
    deal it was created from gets its link at creation. Unlinking removes only the link: the
    invoice row, its history and its audit events stay."""

    __tablename__ = "deal_invoice_link"
    __table_args__ = (
        UniqueConstraint("invoice_id", "deal_id", name="uq_deal_invoice_link"),
        Index("ix_deal_invoice_link_deal", "company_id", "deal_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("deal_invoice.id", ondelete="CASCADE"))
    deal_id: Mapped[int] = mapped_column(BigInteger)
    linked_by_user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactMirror(Base):
    """When a provider contact's invoices were last read in full into ``deal_invoice``
    (``source="provider"`` rows): later reads answer from our rows until a refresh."""

    __tablename__ = "contact_mirror"
    __table_args__ = (UniqueConstraint("company_id", "provider", "contact_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[str] = mapped_column(String(64))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemLink(TimestampMixin, Base):
    """A CRM product remembered as one provider item."""

    __tablename__ = "item_link"
    __table_args__ = (UniqueConstraint("company_id", "provider", "crm_product_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    crm_product_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str | None] = mapped_column(String(64), default=None)
    item_name: Mapped[str] = mapped_column(String(255), default="")


class ContactLink(TimestampMixin, Base):
    """A CRM organization or person remembered as one provider contact."""

    __tablename__ = "contact_link"
    __table_args__ = (UniqueConstraint("company_id", "provider", "crm_entity", "crm_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    # "organization" or "person"
    crm_entity: Mapped[str] = mapped_column(String(16))
    crm_id: Mapped[int] = mapped_column(BigInteger)
    contact_id: Mapped[str] = mapped_column(String(64))
    contact_name: Mapped[str] = mapped_column(String(255), default="")
    # The contact's currency as last seen (QuickBooks customers have one fixed currency).
    contact_currency: Mapped[str | None] = mapped_column(String(3), default=None)


class CreditStatus:
    """A credit note's progress (a two-step saga: create the note, then apply it).

    pending: recorded before the first provider call; created: the provider has the note
    (``provider_credit_id``); applied: what could be applied to the invoice was applied
    (``applied_minor``; the rest stays with the customer as credit).
    """

    pending = "pending"
    created = "created"
    applied = "applied"


class CreditNoteRow(TimestampMixin, Base):
    """One credit note on one of our invoices, keyed by the caller's Idempotency-Key: a
    repeat of the request finds this row (or, after a crash before it was saved, the
    provider replays the same keyed calls), so the invoice is credited once."""

    __tablename__ = "credit_note"
    __table_args__ = (
        UniqueConstraint("company_id", "idempotency_key", name="uq_credit_note_key"),
        Index("ix_credit_note_invoice", "company_id", "deal_invoice_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    deal_invoice_id: Mapped[str] = mapped_column(ForeignKey("deal_invoice.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=CreditStatus.pending)
    provider_credit_id: Mapped[str | None] = mapped_column(String(64), default=None)
    number: Mapped[str | None] = mapped_column(String(64), default=None)
    currency: Mapped[str] = mapped_column(String(3), default="")
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    applied_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str | None] = mapped_column(String(255), default=None)
    created_by_user_id: Mapped[str | None] = mapped_column(String(36), default=None)


class ScheduleStatus:
    """A recurring schedule: active (periods are created as their dates come), paused (none
    are; resuming creates the ones whose date passed meanwhile), stopped (for good), finished
    (every cycle created)."""

    active = "active"
    paused = "paused"
    stopped = "stopped"
    finished = "finished"


class BillingSchedule(TimestampMixin, Base):
    """A deal's recurring products of one frequency, billed each period by the worker: the
    invoice of period n is created under the key (``set_key``, n), so exactly once."""

    __tablename__ = "billing_schedule"
    __table_args__ = (
        UniqueConstraint("company_id", "provider", "set_key", name="uq_billing_schedule_set"),
        Index("ix_billing_schedule_due", "status", "next_date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    deal_id: Mapped[int] = mapped_column(BigInteger)
    provider: Mapped[str] = mapped_column(String(16))
    # deal, product set and frequency (``rules.schedule.SchedulePlan.key``).
    set_key: Mapped[str] = mapped_column(String(255))
    product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    frequency: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(8))
    interval: Mapped[int] = mapped_column(default=1)
    cycles: Mapped[int | None] = mapped_column(default=None)
    start_date: Mapped[date] = mapped_column()
    start_from_close: Mapped[bool] = mapped_column(default=False)
    periods_done: Mapped[int] = mapped_column(default=0)
    next_date: Mapped[date | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default=ScheduleStatus.active)
    last_error: Mapped[str | None] = mapped_column(String(2000), default=None)
    created_by_user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # Held at the provider (its repeating invoice's id): the provider makes each period's
    # draft and the worker never runs this row.
    provider_schedule_id: Mapped[str | None] = mapped_column(String(64), default=None)
