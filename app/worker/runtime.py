"""One process's job machinery: broker, dispatcher, scheduler and (optionally) the runners.

``JobMachinery`` is started by the app's lifespan (in-process jobs) and by
``invoicing worker`` (Redis). The ``state`` it is given is the app's state or the worker's
equivalent: settings, sessionmaker and the shared HTTP client, which handlers use as routes do.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

from taskiq import AsyncBroker
from taskiq.acks import AcknowledgeType
from taskiq.receiver import Receiver

from app.config import Settings
from app.logs import log
from app.worker.broker import build_broker, kick
from app.worker.dispatcher import Dispatcher
from app.worker.outbox import add_waker, remove_waker
from app.worker.runner import JobRunner, RetryPolicy
from app.worker.schedule import run_scheduler


class JobMachinery:
    """Start with ``await start()``, stop with ``await stop()``; idempotent both ways, and
    startable again after a stop (a worker restarted in place)."""

    def __init__(
        self, state: Any, settings: Settings, *, run_jobs: bool, schedule: bool = True
    ) -> None:
        self.state = state
        self.settings = settings
        self.redis = bool(settings.redis_url)
        # In-process brokers run every job they are handed, so there they always run jobs.
        self.run_jobs = run_jobs or not self.redis
        self.schedule = schedule
        policy = RetryPolicy(
            base_seconds=settings.job_backoff_seconds,
            lease_seconds=settings.job_lease_seconds,
        )
        self.runner = JobRunner(state, policy, redelivers=self.redis)
        self.broker: AsyncBroker = build_broker(
            settings.redis_url,
            self.runner.run,
            queue=settings.job_queue,
            redeliver_after=settings.job_lease_seconds / 2,
            concurrency=settings.worker_concurrency,
        )
        self.dispatcher = Dispatcher(
            state.sessionmaker,
            lambda job_id, token: kick(self.broker, job_id, token),
            poll_seconds=settings.worker_poll_seconds,
            lease_seconds=settings.job_lease_seconds,
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self._tasks:
            return
        self._stop = asyncio.Event()
        self.broker.is_worker_process = self.run_jobs
        await self.broker.startup()
        add_waker(self.dispatcher.wake)
        self._tasks.append(asyncio.create_task(self.dispatcher.run(self._stop)))
        if self.schedule:
            self._tasks.append(
                asyncio.create_task(
                    run_scheduler(
                        self.state.sessionmaker, self._stop, self.settings.scheduler_tick_seconds
                    )
                )
            )
        if self.redis and self.run_jobs:
            receiver = Receiver(
                self.broker,
                max_async_tasks=self.settings.worker_concurrency,
                # Acknowledged only once run: a worker killed mid-job leaves it to be redelivered.
                ack_type=AcknowledgeType.WHEN_EXECUTED,
                propagate_exceptions=False,
            )
            self._tasks.append(asyncio.create_task(receiver.listen(self._stop)))
        log.info(
            "jobs_started", broker="redis" if self.redis else "in-process", runs_jobs=self.run_jobs
        )

    async def stop(self) -> None:
        if not self._tasks:
            return
        self._stop.set()
        remove_waker(self.dispatcher.wake)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with suppress(Exception):
            await self.broker.shutdown()
