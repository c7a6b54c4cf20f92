"""The after-connect hook list: connections runs what the app factory installed."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI

from app.connections.hooks import add_after_connect, run_after_connect
from app.extension.registration import register_after_connect


@dataclass
class Outcome:
    redirect_url: str | None
    error: str | None = None


async def test_no_hook_means_no_outcome() -> None:
    assert await run_after_connect(SimpleNamespace(), None, None) is None  # type: ignore[arg-type]


async def test_hooks_run_in_order_and_the_last_outcome_is_shown() -> None:
    app = FastAPI()
    seen: list[str] = []

    async def first(state: Any, session: Any, connection: Any) -> Outcome:
        seen.append("first")
        return Outcome(None, "first failed")

    async def second(state: Any, session: Any, connection: Any) -> Outcome:
        seen.append("second")
        return Outcome("https://example.test/next")

    add_after_connect(app, first)
    add_after_connect(app, second)
    outcome = await run_after_connect(app.state, None, None)  # type: ignore[arg-type]
    assert seen == ["first", "second"]
    assert outcome is not None and outcome.redirect_url == "https://example.test/next"


def test_the_app_registers_the_extension_after_connect(app: Any) -> None:
    assert app.state.after_connect == [register_after_connect]
