"""The in-process broker runs at most ``concurrency`` jobs at once."""

from __future__ import annotations

import asyncio

from app.worker.broker import build_broker, kick


async def test_in_process_jobs_run_at_most_concurrency_at_once() -> None:
    running, most, done = 0, 0, 0

    async def run_job(job_id: str, token: str) -> str:
        nonlocal running, most, done
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        done += 1
        return "done"

    broker = build_broker(None, run_job, queue="test", redeliver_after=60, concurrency=2)
    await broker.startup()
    try:
        for n in range(6):
            await kick(broker, f"job-{n}", "token")
        for _ in range(200):
            if done == 6:
                break
            await asyncio.sleep(0.01)
    finally:
        await broker.shutdown()
    # Every job ran, never more than two at a time: each holds a pooled database connection
    # (and may want a second), so an unbounded number ran the pool dry under load.
    assert (done, most) == (6, 2)
