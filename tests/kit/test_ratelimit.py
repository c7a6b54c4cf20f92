"""Call budgets: a moving window in one process, and one budget shared by two processes."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest

from app.kit.ratelimit import BudgetExhausted, CallBudget, Windows, storage_for
from tests.worker.test_redis import REDIS_URL, redis_up

ROOT = Path(__file__).resolve().parents[2]


async def test_a_budget_lets_exactly_its_calls_into_a_window() -> None:
    budget = CallBudget(
        f"t-{uuid.uuid4().hex}", Windows(per_minute=7), storage_for(None), max_wait=0.1
    )
    outcomes = await asyncio.gather(
        *(budget.acquire("tenant") for _ in range(20)), return_exceptions=True
    )
    assert sum(1 for o in outcomes if o is None) == 7
    refused = [o for o in outcomes if isinstance(o, BudgetExhausted)]
    assert len(refused) == 13 and refused[0].retry_after > 50
    # Another key has its own budget.
    await budget.acquire("other-tenant")


async def test_a_short_window_is_waited_out_not_refused() -> None:
    budget = CallBudget(f"t-{uuid.uuid4().hex}", Windows(per_second=5), storage_for(None))
    await asyncio.gather(*(budget.acquire("tenant") for _ in range(8)))
    stats = await budget.limiter.get_window_stats(budget.items[0], "tenant")
    assert stats.remaining >= 0


async def test_two_processes_together_never_exceed_one_budget() -> None:
    if not await redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    name = f"two-processes-{uuid.uuid4().hex}"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "tests" / "kit" / "budget_process.py"),
            REDIS_URL,
            name,
            "25",
            "40",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert (await asyncio.wait_for(proc.stdout.readline(), 60)).strip() == b"ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        allowed = []
        for proc in procs:
            assert proc.stdout is not None
            allowed.append(int((await asyncio.wait_for(proc.stdout.readline(), 60)).strip()))
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
    # 80 attempts within a minute against 25 a minute: 25 in all, whoever got them.
    assert sum(allowed) == 25, allowed
