"""Periodic jobs that run once per period across every process.

Each process's scheduler records the job for the current slot under the key
``tick:<name>:<slot>``; the key is unique, so however many processes tick, one job runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.logs import log
from app.worker.outbox import enqueue


@dataclass(frozen=True)
class Periodic:
    name: str  # the job to record
    seconds: Callable[[], float]  # the period, read at each tick (settings may change it)


_periodic: dict[str, Periodic] = {}


def every(name: str, seconds: Callable[[], float] | float) -> None:
    """Run job ``name`` (no arguments) once every ``seconds``, across all processes."""
    period = seconds if callable(seconds) else (lambda value=float(seconds): value)
    _periodic[name] = Periodic(name=name, seconds=period)


def periodic_jobs() -> list[Periodic]:
    return list(_periodic.values())


def slot_key(name: str, seconds: float, now: datetime) -> str:
    return f"tick:{name}:{int(now.timestamp() // max(1.0, seconds))}"


async def tick(sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None) -> int:
    """Record the current slot's job for every periodic job; returns how many were new."""
    now = now or utcnow()
    recorded = 0
    async with sessionmaker() as session:
        for spec in periodic_jobs():
            seconds = spec.seconds()
            if seconds <= 0:
                continue
            if await enqueue(session, spec.name, key=slot_key(spec.name, seconds, now)):
                recorded += 1
        await session.commit()
    return recorded


async def run_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event, every_seconds: float
) -> None:
    while not stop.is_set():
        try:
            await tick(sessionmaker)
        except Exception as exc:
            log.warning("scheduler_error", error=f"{type(exc).__name__}: {exc}"[:300])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
