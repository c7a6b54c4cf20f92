"""Job handlers the worker tests drive: their effects are audit rows, in the job's session."""

from __future__ import annotations

import asyncio

from app.tenants.models import AuditEvent
from app.worker.registry import Defer, JobContext, job

calls: dict[str, int] = {}
first_runs: dict[str, list[bool]] = {}


@job("tests.record")
async def record(ctx: JobContext, tag: str, sleep: float = 0.0) -> None:
    calls[tag] = calls.get(tag, 0) + 1
    first_runs.setdefault(tag, []).append(ctx.first_run)
    if sleep:
        await asyncio.sleep(sleep)
    ctx.session.add(AuditEvent(action="tests.record", details={"tag": tag}))


@job("tests.fail", max_attempts=3)
async def fail(ctx: JobContext, tag: str) -> None:
    calls[tag] = calls.get(tag, 0) + 1
    ctx.session.add(AuditEvent(action="tests.fail", details={"tag": tag}))
    raise RuntimeError(f"boom {calls[tag]}")


@job("tests.defer")
async def defer(ctx: JobContext, tag: str) -> None:
    calls[tag] = calls.get(tag, 0) + 1
    if calls[tag] == 1:
        raise Defer(0.05, "provider asked to wait")
    ctx.session.add(AuditEvent(action="tests.defer", details={"tag": tag}))


@job("tests.slow")
async def slow(ctx: JobContext, tag: str, marker: str, seconds: float) -> None:
    """Notes each start in ``marker`` (a file), then works for ``seconds``."""
    with open(marker, "a") as out:
        out.write("started\n")
    await asyncio.sleep(seconds)
    ctx.session.add(AuditEvent(action="tests.slow", details={"tag": tag}))
