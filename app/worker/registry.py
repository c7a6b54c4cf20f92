"""Job handlers by name. Domain packages register theirs in their ``tasks.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


class Defer(Exception):
    """Run this job again after ``seconds`` without counting a failed attempt.

    For waits that are nobody's fault: a provider's long Retry-After, a daily limit.
    """

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"deferred {seconds:.0f}s")
        self.seconds = max(0.0, seconds)
        self.reason = reason


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the process's shared state and the job's unit of work.

    ``session`` commits when the handler returns (together with the job's ``done`` mark), so a
    handler's writes and the record that it ran land together or not at all.
    """

    state: Any
    session: AsyncSession
    job_id: str
    company_id: str | None
    attempt: int
    # No earlier run of this job can have started: it runs under its first claim, handed out
    # by a broker that never delivers a message twice (in-process). A handler may then skip
    # looking for an earlier run's effect. False whenever that cannot be known.
    first_run: bool = False


Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    handler: Handler
    max_attempts: int


_handlers: dict[str, JobSpec] = {}


def job(name: str, *, max_attempts: int = 8) -> Callable[[Handler], Handler]:
    """Register ``async def handler(ctx: JobContext, **ids)`` under ``name``.

    Handlers must be idempotent: a job may run again after a crash or a lost acknowledgement.
    """

    def register(handler: Handler) -> Handler:
        _handlers[name] = JobSpec(name=name, handler=handler, max_attempts=max_attempts)
        return handler

    return register


def spec_for(name: str) -> JobSpec | None:
    return _handlers.get(name)


def registered() -> list[str]:
    return sorted(_handlers)
