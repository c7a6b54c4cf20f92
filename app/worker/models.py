"""The outbox: one row per job, written in the transaction of the change that causes it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, new_uuid, utcnow


class JobStatus(StrEnum):
    pending = "pending"  # waiting for run_after
    running = "running"  # handed to a broker under a lease (locked_until, lease_token)
    done = "done"
    parked = "parked"  # failed max_attempts times: kept, visible, not retried


class Job(TimestampMixin, Base):
    """A unit of background work. ``args`` carries ids only; the handler reads the rest.

    ``key`` makes a job unique while its row exists (a webhook event's job, one catch-up per
    connection and time slot, one scheduler tick across every process): a second insert with
    the same key is ignored.
    """

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "status", "run_after"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str | None] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.pending.value)
    attempts: Mapped[int] = mapped_column(default=0)
    # Times the dispatcher handed the job out (see JobContext.first_run).
    claims: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(default=8)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    lease_token: Mapped[str | None] = mapped_column(String(36), default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
