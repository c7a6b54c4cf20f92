"""Call budgets per key (a provider tenant, a Pipedrive company, a company calling our API),
shared across processes.

A moving window (``limits``' MovingWindowRateLimiter) never lets more than the budget into any
window, unlike a fixed window, which lets twice the budget through at a window's edge. The
windows live in Redis when ``REDIS_URL`` is set, so every app and worker process draws on one
budget; in memory otherwise (one process).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from limits import (
    RateLimitItem,
    RateLimitItemPerDay,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter


class BudgetExhausted(Exception):
    """A long window (a day) is used up: waiting in place would hold a request for hours."""

    def __init__(self, key: str, retry_after: float) -> None:
        super().__init__(f"the call budget of {key} is used up for {retry_after:.0f}s")
        self.key = key
        self.retry_after = retry_after


@dataclass(frozen=True)
class Refusal:
    """A call that does not fit: ``amount`` calls per ``window`` (second, minute, day) are
    already spent, and room comes back in ``retry_after`` seconds."""

    amount: int
    window: str
    retry_after: float


@dataclass(frozen=True)
class Windows:
    """A budget: calls per second, minute and day (0 = no limit)."""

    per_second: int = 0
    per_minute: int = 0
    per_day: int = 0

    def items(self, namespace: str) -> list[RateLimitItem]:
        out: list[RateLimitItem] = []
        if self.per_second:
            out.append(RateLimitItemPerSecond(self.per_second, namespace=namespace))
        if self.per_minute:
            out.append(RateLimitItemPerMinute(self.per_minute, namespace=namespace))
        if self.per_day:
            out.append(RateLimitItemPerDay(self.per_day, namespace=namespace))
        return out


_shared: dict[str, Storage] = {}
# Every in-memory storage handed out, so a test harness can start a fresh minute for all of
# them (the stand-ins reset their own windows between tests).
_local: weakref.WeakSet[MemoryStorage] = weakref.WeakSet()


def configure_budgets(redis_url: str | None) -> None:
    """Share call budgets through Redis from now on (the app and worker start-up call this);
    without Redis every ``Budgets`` keeps its own windows in memory."""
    _shared.clear()
    if redis_url:
        _shared["redis"] = storage_for(redis_url)


def budget_storage() -> Storage:
    """The shared Redis storage when configured, else a fresh in-memory one."""
    shared = _shared.get("redis")
    if shared is not None:
        return shared
    local = MemoryStorage()
    _local.add(local)
    return local


async def forget_local_budgets() -> None:
    """Empty every in-memory window, company request budget and circuit (tests: each starts
    with its stand-ins reset); all of them take their storage from ``budget_storage``."""
    for storage in list(_local):
        await storage.reset()


def storage_for(redis_url: str | None) -> Storage:
    """Redis when configured (shared by every process), else this process's memory."""
    if redis_url:
        uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
        return RedisStorage(uri, implementation="redispy", key_prefix="invoicing-limits")
    return MemoryStorage()


class CallBudget:
    """``await budget.acquire(key)`` returns once a call for ``key`` fits every window.

    Waits for a short window (second, minute) to make room; raises ``BudgetExhausted`` when
    the wait would exceed ``max_wait`` (a used-up day), so a job can defer itself instead.
    """

    def __init__(
        self,
        name: str,
        windows: Windows,
        storage: Storage,
        *,
        max_wait: float = 120.0,
    ) -> None:
        self.name = name
        self.items: Sequence[RateLimitItem] = windows.items(name)
        self.limiter = MovingWindowRateLimiter(storage)
        self.max_wait = max_wait

    async def acquire(self, key: str) -> None:
        if not self.items:
            return
        waited = 0.0
        while True:
            wait = await self._try(key)
            if wait <= 0:
                return
            if waited + wait > self.max_wait:
                raise BudgetExhausted(f"{self.name}:{key}", wait)
            # Wake when the window has room, or sooner when it moves by single calls.
            await asyncio.sleep(wait)
            waited += wait

    async def _try(self, key: str) -> float:
        """0 when a call was counted in every window, else how long to wait before trying."""
        refusal = await self.take(key)
        if refusal is None:
            return 0.0
        # A little slack avoids waking a hair too early and spinning.
        return max(0.01, refusal.retry_after + 0.005)

    async def take(self, key: str) -> Refusal | None:
        """Count one call for ``key`` now if it fits every window (None), else say which
        window is full and when it has room; a refused call is not counted. For callers that
        answer "too many" instead of waiting (our own API's per-company budget)."""
        for item in self.items:
            if not await self.limiter.test(item, key):
                return await self._refusal(item, key)
        for item in self.items:
            if not await self.limiter.hit(item, key):
                # Another process took the last slot between test and hit; the windows hit
                # before this one keep that call (a moving window cannot un-count it), which
                # errs on the side of calling less.
                return await self._refusal(item, key)
        return None

    async def _refusal(self, item: RateLimitItem, key: str) -> Refusal:
        stats = await self.limiter.get_window_stats(item, key)
        # reset_time is when the oldest call in the window leaves it.
        wait = max(0.0, stats.reset_time - time.time())
        return Refusal(item.amount, item.GRANULARITY.name, wait)

    async def clear(self, key: str) -> None:
        for item in self.items:
            await self.limiter.clear(item, key)
