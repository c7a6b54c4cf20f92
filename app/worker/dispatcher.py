"""Handing due jobs to the broker under a lease, safely from any number of processes.

A job is claimed with a compare-and-swap update (its status and lease as last read), so two
dispatchers never hand out the same job twice; a job whose lease expired (its runner died and
the broker did not redeliver it) is claimed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import new_uuid, utcnow
from app.logs import log
from app.worker.models import Job, JobStatus

Kick = Callable[[str, str], Awaitable[None]]


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Job.status == JobStatus.pending.value, Job.run_after <= now),
        and_(Job.status == JobStatus.running.value, Job.locked_until < now),
    )


class Dispatcher:
    """Polls the outbox (and wakes at once after a local commit that recorded a job)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        kick: Kick,
        *,
        poll_seconds: float = 0.5,
        lease_seconds: float = 120.0,
        batch: int = 50,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.kick = kick
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.batch = batch
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def claim(self) -> list[tuple[str, str]]:
        """Lease up to ``batch`` due jobs; returns (job id, lease token) pairs."""
        now = utcnow()
        until = now + timedelta(seconds=self.lease_seconds)
        claimed: list[tuple[str, str]] = []
        async with self.sessionmaker() as session:
            ids = (
                await session.scalars(
                    select(Job.id).where(_due(now)).order_by(Job.run_after).limit(self.batch)
                )
            ).all()
            for job_id in ids:
                token = new_uuid()
                result = await session.execute(
                    update(Job)
                    .where(Job.id == job_id, _due(now))
                    # No Job object lives in this session: nothing to keep in step.
                    .execution_options(synchronize_session=False)
                    .values(
                        status=JobStatus.running.value,
                        claims=Job.claims + 1,
                        lease_token=token,
                        locked_until=until,
                        updated_at=now,
                    )
                )
                if getattr(result, "rowcount", 0):
                    claimed.append((job_id, token))
            await session.commit()
        return claimed

    async def run_once(self) -> int:
        claimed = await self.claim()
        for job_id, token in claimed:
            try:
                await self.kick(job_id, token)
            except Exception as exc:
                # The lease expires and the job is claimed again; nothing is lost.
                log.warning("job_kick_failed", job_id=job_id, error=type(exc).__name__)
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handed = await self.run_once()
            except Exception as exc:
                log.warning("dispatcher_error", error=f"{type(exc).__name__}: {exc}"[:300])
                handed = 0
            if handed >= self.batch:
                continue  # more may be due right now
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper}, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            stopper.cancel()
