"""``invoicing worker``: a process that runs jobs (and dispatches and schedules them).

With ``REDIS_URL`` several of these share the work through the Redis stream; without it one
such process is the in-process broker's only runner besides the app processes themselves.
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress
from types import SimpleNamespace

import httpx2

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.kit.crypto import keyring
from app.kit.ratelimit import configure_budgets
from app.logs import log
from app.worker.runtime import JobMachinery


def open_state(settings: Settings) -> SimpleNamespace:
    """What handlers reach as ``ctx.state``: the same attributes the app's state has, and the
    token keys, as the app configures them (a job reading a connection decrypts its tokens)."""
    keyring.configure(settings.token_key_list)
    engine = create_engine(settings)
    return SimpleNamespace(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        http=httpx2.AsyncClient(
            timeout=httpx2.Timeout(30.0, connect=10.0),
            limits=httpx2.Limits(max_connections=200, max_keepalive_connections=50),
            headers={"User-Agent": "crm-invoicing/0.1"},
        ),
    )


async def close_state(state: SimpleNamespace) -> None:
    await state.http.aclose()
    await state.engine.dispose()


async def run_worker(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    run_jobs: bool = True,
    schedule: bool = True,
) -> None:
    """Run until SIGTERM/SIGINT (or ``stop``); jobs cut short are run again elsewhere.

    Every such process dispatches due jobs; ``run_jobs`` (with Redis) also runs them, and
    ``schedule`` records the periodic ones (once per period across all processes anyway).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    configure_budgets(settings.redis_url)
    state = open_state(settings)
    machinery = JobMachinery(state, settings, run_jobs=run_jobs, schedule=schedule)
    await machinery.start()
    log.info("worker_started", redis=bool(settings.redis_url))
    try:
        await stop.wait()
    finally:
        await machinery.stop()
        await close_state(state)
        log.info("worker_stopped")
