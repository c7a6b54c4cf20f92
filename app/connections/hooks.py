"""What other surfaces do once a provider is connected, without connections importing them.

Connections sits below the surfaces that care about a new connection (Pipedrive's Invoicing
extension registers it with Pipedrive), so it only defines the hook type and runs the hooks
the application factory put on ``app.state.after_connect``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import ProviderConnection


class ConnectOutcome(Protocol):
    """What a hook reports for the success page: where to send the admin on, or why not."""

    @property
    def redirect_url(self) -> str | None: ...

    @property
    def error(self) -> str | None: ...


AfterConnect = Callable[[Any, AsyncSession, ProviderConnection], Awaitable[ConnectOutcome]]


def add_after_connect(app: FastAPI, hook: AfterConnect) -> None:
    """Run ``hook(app.state, session, connection)`` after every successful connect."""
    hooks: list[AfterConnect] = getattr(app.state, "after_connect", [])
    app.state.after_connect = [*hooks, hook]


async def run_after_connect(
    state: Any, session: AsyncSession, connection: ProviderConnection
) -> ConnectOutcome | None:
    """Run every hook in order; the last one's outcome is what the page shows. A hook must not
    raise: a failure there never fails the connect (it reports ``error`` instead)."""
    outcome: ConnectOutcome | None = None
    for hook in getattr(state, "after_connect", ()):
        outcome = await hook(state, session, connection)
    return outcome
