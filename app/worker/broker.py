"""The taskiq broker that carries job ids to runners: in-process, or Redis streams with acks.

In-process (no ``REDIS_URL``), a kicked job runs as a task of the same event loop, so
``make demo`` and ``invoicing serve`` need nothing more. With ``REDIS_URL`` the stream broker
delivers each job id to one worker process and redelivers it when that worker dies before
acknowledging it (``idle_timeout``); the lease token then decides who may still run it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from taskiq import AsyncBroker, InMemoryBroker
from taskiq_redis import RedisStreamBroker

TASK_NAME = "invoicing.run_job"
GROUP = "invoicing-workers"

RunJob = Callable[[str, str], Awaitable[str]]


def build_broker(
    redis_url: str | None,
    run_job: RunJob,
    *,
    queue: str,
    redeliver_after: float,
    concurrency: int = 10,
) -> AsyncBroker:
    """A broker whose one task runs ``run_job(job_id, lease_token)``."""
    broker: AsyncBroker
    if redis_url:
        broker = RedisStreamBroker(
            redis_url,
            queue_name=queue,
            consumer_group_name=GROUP,
            # Messages taken by a worker that died unacknowledged go to another after this.
            idle_timeout=int(redeliver_after * 1000),
            unacknowledged_lock_timeout=max(1.0, redeliver_after),
            xread_block=1000,
            maxlen=100_000,
        )
    else:
        # In-process jobs share the app's event loop and database pool with its requests.
        broker = InMemoryBroker()
    # InMemoryBroker.kick starts every kicked job at once (its max_async_tasks bounds only a
    # listening receiver, which an in-memory broker never has), so the bound is ours.
    gate = None if redis_url else asyncio.Semaphore(concurrency)

    async def run(job_id: str, token: str) -> str:
        if gate is None:
            return await run_job(job_id, token)
        async with gate:
            return await run_job(job_id, token)

    broker.register_task(run, task_name=TASK_NAME)
    return broker


async def kick(broker: AsyncBroker, job_id: str, token: str) -> None:
    task: Any = broker.find_task(TASK_NAME)
    await task.kiq(job_id, token)
