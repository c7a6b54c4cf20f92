"""Recording jobs in the caller's transaction, and waking the dispatcher once it commits.

A job row is written with the change that causes it; the dispatcher only sees it after the
commit, so a crash between commit and dispatch loses nothing (the row waits), and a rollback
leaves no job behind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db import insert_ignoring_conflicts, new_uuid, utcnow
from app.worker.models import Job, JobStatus
from app.worker.registry import spec_for

_ENQUEUED = "worker.jobs_enqueued"
_wakers: set[Callable[[], None]] = set()


def add_waker(callback: Callable[[], None]) -> None:
    """Call ``callback`` after every commit that recorded a job (the dispatcher's wake-up)."""
    _wakers.add(callback)


def remove_waker(callback: Callable[[], None]) -> None:
    _wakers.discard(callback)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_ENQUEUED, False):
        for wake in list(_wakers):
            wake()


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


async def enqueue(
    session: AsyncSession,
    name: str,
    *,
    company_id: str | None = None,
    key: str | None = None,
    delay: float = 0.0,
    **args: Any,
) -> bool:
    """Record job ``name`` with id arguments ``args`` in ``session``'s transaction.

    With ``key``, a job whose row already exists under that key is not recorded again and
    False is returned. The caller's commit makes the job visible.
    """
    spec = spec_for(name)
    now = utcnow()
    values = {
        "id": new_uuid(),
        "company_id": company_id,
        "name": name,
        "args": args,
        "key": key,
        "status": JobStatus.pending.value,
        "attempts": 0,
        "max_attempts": spec.max_attempts if spec else 8,
        "run_after": now + timedelta(seconds=delay),
        "last_error": "",
        "created_at": now,
        "updated_at": now,
    }
    if key is None:
        await session.execute(insert(Job).values(**values))
        recorded = True
    else:
        result = await session.execute(
            insert_ignoring_conflicts(session, Job.__table__, values, ["key"])
        )
        recorded = bool(getattr(result, "rowcount", 0))
    if recorded:
        session.sync_session.info[_ENQUEUED] = True
    return recorded
