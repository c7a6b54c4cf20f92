"""The outbox and its runner: jobs recorded with their cause, run once, retried, parked."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.db import utcnow
from app.tenants.models import AuditEvent
from app.worker.dispatcher import Dispatcher
from app.worker.models import Job, JobStatus
from app.worker.outbox import enqueue
from app.worker.runner import JobRunner, RetryPolicy
from app.worker.schedule import every, slot_key, tick
from tests.worker import jobs


async def wait_for_job(sessionmaker: Any, job_id: str, *statuses: str, timeout: float = 10) -> Job:
    wanted = statuses or (JobStatus.done.value,)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with sessionmaker() as session:
            row = await session.get(Job, job_id)
        if row is not None and row.status in wanted:
            return row
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job {job_id} is {row.status if row else 'gone'}")
        await asyncio.sleep(0.05)


async def audit_count(sessionmaker: Any, action: str, tag: str) -> int:
    async with sessionmaker() as session:
        rows = (await session.scalars(select(AuditEvent).where(AuditEvent.action == action))).all()
    return sum(1 for r in rows if r.details.get("tag") == tag)


async def job_ids(sessionmaker: Any, name: str) -> list[str]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(Job.id).where(Job.name == name))).all())


def tag() -> str:
    return uuid.uuid4().hex[:12]


async def test_a_committed_job_runs_once_and_its_effect_lands_with_it(sessionmaker: Any) -> None:
    t = tag()
    async with sessionmaker() as session:
        await enqueue(session, "tests.record", tag=t)
        await session.commit()
    (job_id,) = await job_ids(sessionmaker, "tests.record")
    row = await wait_for_job(sessionmaker, job_id)
    assert row.attempts == 1 and row.finished_at is not None and row.lease_token
    assert await audit_count(sessionmaker, "tests.record", t) == 1
    assert jobs.calls[t] == 1


async def test_a_rolled_back_transaction_leaves_no_job(sessionmaker: Any) -> None:
    t = tag()
    async with sessionmaker() as session:
        await enqueue(session, "tests.record", tag=t)
        await session.rollback()
    await asyncio.sleep(0.3)
    assert await job_ids(sessionmaker, "tests.record") == []
    assert t not in jobs.calls


async def test_a_keyed_job_is_recorded_once(sessionmaker: Any) -> None:
    t = tag()
    async with sessionmaker() as session:
        assert await enqueue(session, "tests.record", key=f"k:{t}", tag=t) is True
        assert await enqueue(session, "tests.record", key=f"k:{t}", tag=t) is False
        await session.commit()
    async with sessionmaker() as session:
        assert await enqueue(session, "tests.record", key=f"k:{t}", tag=t) is False
        await session.commit()
    assert len(await job_ids(sessionmaker, "tests.record")) == 1


async def test_a_failing_job_is_retried_then_parked_with_its_error(
    sessionmaker: Any, app: Any
) -> None:
    t = tag()
    async with sessionmaker() as session:
        await enqueue(session, "tests.fail", tag=t)
        await session.commit()
    (job_id,) = await job_ids(sessionmaker, "tests.fail")
    row = await wait_for_job(sessionmaker, job_id, JobStatus.parked.value, timeout=30)
    assert row.attempts == 3 and jobs.calls[t] == 3
    assert "RuntimeError: boom 3" in row.last_error
    # Each failed attempt's writes were rolled back with it.
    assert await audit_count(sessionmaker, "tests.fail", t) == 0


async def test_a_deferred_job_runs_later_without_losing_an_attempt(sessionmaker: Any) -> None:
    t = tag()
    async with sessionmaker() as session:
        await enqueue(session, "tests.defer", tag=t)
        await session.commit()
    (job_id,) = await job_ids(sessionmaker, "tests.defer")
    row = await wait_for_job(sessionmaker, job_id, timeout=15)
    assert jobs.calls[t] == 2 and row.attempts == 1
    assert await audit_count(sessionmaker, "tests.defer", t) == 1


async def test_an_unknown_job_name_is_parked_not_retried(sessionmaker: Any) -> None:
    async with sessionmaker() as session:
        await enqueue(session, "tests.nobody-handles-this")
        await session.commit()
    (job_id,) = await job_ids(sessionmaker, "tests.nobody-handles-this")
    row = await wait_for_job(sessionmaker, job_id, JobStatus.parked.value)
    assert "no handler" in row.last_error


async def _pending(sessionmaker: Any, t: str, count: int, **columns: Any) -> list[str]:
    """Jobs made due in the past that the app's own dispatcher has not claimed: they are
    recorded as already running under a live lease held by nobody (``columns`` override)."""
    ids = []
    async with sessionmaker() as session:
        for _ in range(count):
            job = Job(
                **{
                    "name": "tests.record",
                    "args": {"tag": t},
                    "status": JobStatus.running.value,
                    "lease_token": "held-elsewhere",
                    "locked_until": utcnow() + timedelta(hours=1),
                    "last_error": "",
                    **columns,
                }
            )
            session.add(job)
            await session.flush()
            ids.append(job.id)
        await session.commit()
    return ids


async def test_two_dispatchers_never_hand_out_the_same_job(sessionmaker: Any) -> None:
    t = tag()
    ids = await _pending(sessionmaker, t, 30)
    # Expire the leases: both dispatchers now see all 30 as due.
    async with sessionmaker() as session:
        await session.execute(
            update(Job).where(Job.id.in_(ids)).values(locked_until=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    kicked: list[tuple[str, str]] = []

    async def kick(job_id: str, token: str) -> None:
        kicked.append((job_id, token))

    first = Dispatcher(sessionmaker, kick, batch=100)
    second = Dispatcher(sessionmaker, kick, batch=100)
    await asyncio.gather(first.run_once(), second.run_once())
    mine = [job_id for job_id, _ in kicked if job_id in ids]
    # The app's own dispatcher may take some too; none is handed out twice.
    assert len(mine) == len(set(mine))


async def test_a_job_whose_runner_died_is_run_again_and_a_stale_delivery_does_nothing(
    sessionmaker: Any, app: Any
) -> None:
    t = tag()
    (job_id,) = await _pending(sessionmaker, t, 1)
    runner = JobRunner(app.state, RetryPolicy(base_seconds=0.01))
    # The dead runner's token no longer runs anything once the lease passed to another.
    assert await runner.run(job_id, "not-the-lease") == "stale"
    async with sessionmaker() as session:
        await session.execute(
            update(Job).where(Job.id == job_id).values(locked_until=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    row = await wait_for_job(sessionmaker, job_id)
    assert row.lease_token != "held-elsewhere"
    assert await audit_count(sessionmaker, "tests.record", t) == 1
    assert await runner.run(job_id, "held-elsewhere") == "stale"
    assert await audit_count(sessionmaker, "tests.record", t) == 1


async def test_a_runner_that_lost_its_lease_commits_nothing(sessionmaker: Any, app: Any) -> None:
    t = tag()
    (job_id,) = await _pending(sessionmaker, t, 1)

    async def steal_lease_while_running() -> None:
        await asyncio.sleep(0.1)
        async with sessionmaker() as session:
            await session.execute(update(Job).where(Job.id == job_id).values(lease_token="thief"))
            await session.commit()

    async with sessionmaker() as session:
        await session.execute(
            update(Job).where(Job.id == job_id).values(args={"tag": t, "sleep": 0.4})
        )
        await session.commit()
    runner = JobRunner(app.state)
    outcome, _ = await asyncio.gather(
        runner.run(job_id, "held-elsewhere"), steal_lease_while_running()
    )
    assert outcome == "stale"
    assert jobs.calls[t] == 1
    assert await audit_count(sessionmaker, "tests.record", t) == 0


async def _lease_while_running(sessionmaker: Any, app: Any, left: timedelta) -> Any:
    """Run a job whose lease has ``left`` to go when its delivery arrives; the job's
    ``locked_until`` as read while the handler works."""
    t = tag()
    claimed_until = utcnow() + left
    (job_id,) = await _pending(
        sessionmaker, t, 1, locked_until=claimed_until, args={"tag": t, "sleep": 0.3}
    )

    async def read_while_running() -> Any:
        await asyncio.sleep(0.15)
        async with sessionmaker() as session:
            return await session.scalar(select(Job.locked_until).where(Job.id == job_id))

    runner = JobRunner(app.state, RetryPolicy(lease_seconds=120.0))
    outcome, seen = await asyncio.gather(runner.run(job_id, "held-elsewhere"), read_while_running())
    assert outcome == "done" and jobs.calls[t] == 1
    return claimed_until, seen


async def test_a_late_delivery_renews_its_lease_before_working(sessionmaker: Any, app: Any) -> None:
    # Redelivered with 2 s of its lease left: the dispatcher must not take it for abandoned.
    claimed_until, seen = await _lease_while_running(sessionmaker, app, timedelta(seconds=2))
    assert seen > claimed_until + timedelta(seconds=60)


async def test_a_prompt_delivery_works_under_the_lease_it_was_claimed_with(
    sessionmaker: Any, app: Any
) -> None:
    # Kicked moments after its claim (more than half a lease left): no renewal is written.
    claimed_until, seen = await _lease_while_running(sessionmaker, app, timedelta(seconds=100))
    assert abs((seen - claimed_until).total_seconds()) < 0.01


async def test_only_a_first_claim_that_cannot_be_redelivered_is_a_first_run(
    sessionmaker: Any, app: Any
) -> None:
    async def run_claimed(claims: int, redelivers: bool) -> list[bool]:
        """A job claimed ``claims`` times, its lease live and held by ``held-elsewhere``."""
        t = tag()
        (job_id,) = await _pending(sessionmaker, t, 1, claims=claims)
        runner = JobRunner(app.state, redelivers=redelivers)
        assert await runner.run(job_id, "held-elsewhere") == "done"
        return jobs.first_runs[t]

    # In-process (never redelivered), first claim: the only run there has been.
    assert await run_claimed(1, redelivers=False) == [True]
    # A stream that may deliver the same claim twice: no run can know it is the first.
    assert await run_claimed(1, redelivers=True) == [False]
    # Claimed a second time (an earlier run may have died after its effect).
    assert await run_claimed(2, redelivers=False) == [False]
    # The dispatcher counts its claims: a job whose lease ran out is claimed again.
    t = tag()
    (job_id,) = await _pending(
        sessionmaker, t, 1, claims=1, locked_until=utcnow() - timedelta(seconds=1)
    )
    row = await wait_for_job(sessionmaker, job_id)
    assert row.claims == 2 and jobs.first_runs[t] == [False]


async def test_a_periodic_job_is_recorded_once_per_slot_however_many_processes_tick(
    sessionmaker: Any,
) -> None:
    every("tests.record", 3600.0)
    try:
        now = utcnow()
        results = await asyncio.gather(*(tick(sessionmaker, now) for _ in range(5)))
        assert sum(results) >= 1
        async with sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.key == slot_key("tests.record", 3600.0, now))
            )
        assert count == 1
    finally:
        from app.worker import schedule

        schedule._periodic.pop("tests.record", None)


@pytest.mark.parametrize("attempts", [1, 3, 8])
def test_backoff_grows_and_is_jittered_within_bounds(attempts: int) -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=600.0)
    ceiling = min(600.0, 2.0 * 2 ** (attempts - 1))
    waits = [policy.backoff(attempts) for _ in range(50)]
    assert all(ceiling / 2 <= w <= ceiling for w in waits)
    assert len(set(waits)) > 1
