"""Running one job: the handler's writes and the job's ``done`` mark commit together.

A job is run only by the holder of its current lease token. A delivery whose token is stale
(the lease expired and the dispatcher handed the job to someone else) does nothing, and a
runner that loses its lease while working rolls its effect back instead of committing it.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.logs import log
from app.worker.models import Job, JobStatus
from app.worker.registry import Defer, JobContext, spec_for

if TYPE_CHECKING:
    # Annotations only (not evaluated at run time): pydantic brings typing_extensions.
    from typing_extensions import TypeIs


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; tests shrink it."""

    base_seconds: float = 2.0
    max_seconds: float = 600.0
    lease_seconds: float = 120.0

    def backoff(self, attempts: int) -> float:
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        # "Equal jitter": at least half the wait, so retries of many jobs spread out.
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _holds(job: Job | None, token: str) -> TypeIs[Job]:
    """Whether ``token`` is the running job's current lease."""
    return job is not None and job.status == JobStatus.running and job.lease_token == token


class LeaseLost(Exception):
    """Another runner holds this job now; our work must not be committed."""


class JobRunner:
    """Runs jobs by id for one process, over that process's ``state``."""

    def __init__(
        self, state: Any, policy: RetryPolicy | None = None, *, redelivers: bool = True
    ) -> None:
        self.state = state
        self.policy = policy or RetryPolicy()
        # Whether the broker may deliver one claim twice (a Redis stream redelivers a message
        # its worker never acknowledged): then no run can tell it is the first.
        self.redelivers = redelivers

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        maker: async_sessionmaker[AsyncSession] = self.state.sessionmaker
        return maker

    async def run(self, job_id: str, token: str) -> str:
        """Run the job if ``token`` is its current lease; returns what happened."""
        async with self.sessionmaker() as session:
            job = await self._held(session, job_id, token)
            if job is None:
                return "stale"
            name = job.name
            spec = spec_for(name)
            if spec is None:
                await session.rollback()
                await self._park(job_id, token, f"no handler named {name!r}")
                return "parked"
            ctx = JobContext(
                state=self.state,
                session=session,
                job_id=job.id,
                company_id=job.company_id,
                attempt=job.attempts + 1,
                first_run=job.claims == 1 and not self.redelivers,
            )
            args, attempts, max_attempts = dict(job.args), job.attempts, job.max_attempts
            heartbeat = asyncio.create_task(self._heartbeat(job_id, token))
            try:
                await spec.handler(ctx, **args)
                await self._finish(session, job_id, token)
                await session.commit()
            except Defer as deferred:
                await session.rollback()
                await self._retry(job_id, token, deferred.seconds, str(deferred), attempts)
                return "deferred"
            except LeaseLost:
                await session.rollback()
                log.warning("job_lease_lost", job=name, job_id=job_id)
                return "stale"
            except Exception as exc:
                await session.rollback()
                return await self._failed(job_id, token, name, exc, attempts + 1, max_attempts)
            finally:
                heartbeat.cancel()
        log.info("job_done", job=name, job_id=job_id, attempt=attempts + 1)
        return "done"

    async def _held(self, session: AsyncSession, job_id: str, token: str) -> Job | None:
        """The job, if ``token`` is its current lease, with at least half a lease left.

        A delivery that arrives late (redelivered after its worker died, or queued behind
        others) renews the lease before working, so the dispatcher does not take the job for
        abandoned; one kicked moments after its claim (the in-process broker, a prompt
        stream) skips that write: the heartbeat renews it well before it could expire.
        """
        job = await session.get(Job, job_id)
        if not _holds(job, token):
            return None
        lease = timedelta(seconds=self.policy.lease_seconds)
        if job.locked_until is not None and job.locked_until - utcnow() >= lease / 2:
            return job
        # The renewal is a short session of its own (one pooled connection at a time, and on
        # SQLite a read snapshot may not write after another connection wrote): end this
        # session's snapshot first, then read the job again.
        await session.rollback()
        await self._update(job_id, token, locked_until=utcnow() + lease)
        job = await session.get(Job, job_id, populate_existing=True)
        return job if _holds(job, token) else None

    async def _finish(self, session: AsyncSession, job_id: str, token: str) -> None:
        now = utcnow()
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.lease_token == token, Job.status == JobStatus.running)
            .execution_options(synchronize_session=False)
            .values(
                status=JobStatus.done.value,
                finished_at=now,
                locked_until=None,
                last_error="",
                attempts=Job.attempts + 1,
                updated_at=now,
            )
        )
        if not getattr(result, "rowcount", 0):
            raise LeaseLost(job_id)

    async def _failed(
        self, job_id: str, token: str, name: str, exc: Exception, attempts: int, max_attempts: int
    ) -> str:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempts >= max_attempts:
            log.warning("job_parked", job=name, job_id=job_id, attempts=attempts, error=error)
            await self._park(job_id, token, error, attempts=attempts)
            return "parked"
        wait = self.policy.backoff(attempts)
        log.info(
            "job_retry",
            job=name,
            job_id=job_id,
            attempts=attempts,
            wait=round(wait, 2),
            error=error,
        )
        await self._retry(job_id, token, wait, error, attempts)
        return "retry"

    async def _retry(
        self, job_id: str, token: str, seconds: float, error: str, attempts: int
    ) -> None:
        now = utcnow()
        await self._update(
            job_id,
            token,
            status=JobStatus.pending.value,
            run_after=now + timedelta(seconds=seconds),
            locked_until=None,
            lease_token=None,
            last_error=error[:2000],
            attempts=attempts,
            updated_at=now,
        )

    async def _park(self, job_id: str, token: str, error: str, attempts: int | None = None) -> None:
        values: dict[str, Any] = {
            "status": JobStatus.parked.value,
            "locked_until": None,
            "last_error": error[:2000],
            "finished_at": utcnow(),
            "updated_at": utcnow(),
        }
        if attempts is not None:
            values["attempts"] = attempts
        await self._update(job_id, token, **values)

    async def _update(self, job_id: str, token: str, **values: Any) -> None:
        async with self.sessionmaker() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.lease_token == token)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def _heartbeat(self, job_id: str, token: str) -> None:
        """Keep the lease while a long job works (a catch-up under rate limits)."""
        every = max(0.05, self.policy.lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            until = utcnow() + timedelta(seconds=self.policy.lease_seconds)
            try:
                await self._update(job_id, token, locked_until=until)
            except Exception as exc:  # a busy database must not kill the job itself
                log.warning("job_heartbeat_failed", job_id=job_id, error=type(exc).__name__)
