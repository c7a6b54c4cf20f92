"""One process drawing on a shared call budget: prints how many calls it was allowed."""

from __future__ import annotations

import asyncio
import sys

from app.kit.ratelimit import BudgetExhausted, CallBudget, Windows, storage_for


async def main(redis_url: str, name: str, per_minute: int, attempts: int) -> None:
    budget = CallBudget(name, Windows(per_minute=per_minute), storage_for(redis_url), max_wait=0.2)
    allowed = 0
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)

    async def one() -> None:
        nonlocal allowed
        try:
            await budget.acquire("tenant-1")
        except BudgetExhausted:
            return
        allowed += 1

    await asyncio.gather(*(one() for _ in range(attempts)))
    print(allowed, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
