"""Rate-limit building blocks for the stand-ins, on the sandbox clock."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sandbox.clock import Clock


class FixedWindow:
    """Counts calls per key in fixed windows (Xero's minute/day, QuickBooks' minute)."""

    def __init__(self, clock: Clock, limit: int, window_seconds: int) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window_seconds
        self._counts: dict[tuple[str, int], int] = defaultdict(int)

    def _slot(self) -> int:
        return int(self.clock.timestamp() // self.window)

    def hit(self, key: str) -> tuple[bool, int, int]:
        """Count one call. Returns (allowed, remaining, seconds until the window resets)."""
        slot = self._slot()
        used = self._counts[(key, slot)]
        reset_in = int((slot + 1) * self.window - self.clock.timestamp()) + 1
        if used >= self.limit:
            return False, 0, reset_in
        self._counts[(key, slot)] = used + 1
        return True, self.limit - used - 1, reset_in

    def remaining(self, key: str) -> int:
        return max(self.limit - self._counts[(key, self._slot())], 0)

    def reset(self) -> None:
        self._counts.clear()


class ConcurrencyGate:
    """Refuses a call when `limit` calls for the same key are already in flight."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_flight: dict[str, int] = defaultdict(int)
        self.peak: dict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def enter(self, key: str) -> AsyncIterator[bool]:
        if self._in_flight[key] >= self.limit:
            yield False
            return
        self._in_flight[key] += 1
        self.peak[key] = max(self.peak[key], self._in_flight[key])
        try:
            # Let other requests interleave so that concurrency is observable.
            await asyncio.sleep(0)
            yield True
        finally:
            self._in_flight[key] -= 1

    def reset(self) -> None:
        self._in_flight.clear()
        self.peak.clear()
