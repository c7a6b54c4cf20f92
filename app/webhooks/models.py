"""Received webhook events, one row per event, kept for support and deduplication."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_uuid, utcnow


class EventStatus(StrEnum):
    received = "received"  # stored, its job not run yet
    processed = "processed"
    ignored = "ignored"  # nothing of ours changed (an unknown invoice, a category we skip)
    failed = "failed"


class WebhookEvent(Base):
    """One event of a delivery. ``dedupe_key`` is unique per source: a redelivery or a
    duplicate inside one delivery is stored once and changes state once."""

    __tablename__ = "webhook_event"
    __table_args__ = (
        UniqueConstraint("source", "dedupe_key"),
        Index("ix_webhook_event_company_received", "company_id", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20))  # xero, quickbooks, pipedrive
    dedupe_key: Mapped[str] = mapped_column(String(255))
    tenant_id: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(40))  # INVOICE, Payment, deal, ...
    action: Mapped[str] = mapped_column(String(40))  # UPDATE, Create, change, ...
    resource_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=EventStatus.received.value)
    outcome: Mapped[str] = mapped_column(String(500), default="")
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
