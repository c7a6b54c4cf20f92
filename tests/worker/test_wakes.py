"""A commit that recorded a job wakes the dispatcher: at once, or (inside a request) once the
request's answer is sent."""

from __future__ import annotations

import asyncio
from typing import Any

from app.worker.outbox import add_waker, enqueue, hold_wakes, release_wakes, remove_waker


async def _record(sessionmaker: Any) -> None:
    async with sessionmaker() as session:
        await enqueue(session, "tests.record", tag="wakes")
        await session.commit()


async def test_a_commit_outside_a_request_wakes_at_once_and_inside_one_after_it(
    sessionmaker: Any,
) -> None:
    # Only this test's own wakes count: the app's scheduler commits jobs in its own tasks.
    woken: list[str] = []
    mine = asyncio.current_task()

    def waker() -> None:
        if asyncio.current_task() is mine:
            woken.append("woken")

    add_waker(waker)
    try:
        await _record(sessionmaker)
        assert woken == ["woken"]
        woken.clear()
        held = hold_wakes()
        await _record(sessionmaker)
        await _record(sessionmaker)
        assert woken == []  # the request's answer has not gone out yet
        release_wakes(held)
        assert woken == ["woken"]  # once for the request, however many commits
        woken.clear()
        # A held request that recorded nothing wakes nobody.
        release_wakes(hold_wakes())
        assert woken == []
    finally:
        remove_waker(waker)
