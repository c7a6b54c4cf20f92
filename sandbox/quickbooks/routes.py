"""Wire the QuickBooks Online stand-in into the sandbox app."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI

from sandbox.quickbooks import api, control, errors, oauth, pages, seed
from sandbox.quickbooks.state import ApiState

if TYPE_CHECKING:
    from sandbox.app import Sandbox


class IntuitTid:
    """Every answer under /quickbooks carries an `intuit_tid` (quickbooks.md §1.1: clients log
    it for support tickets)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/quickbooks"):
            await self.app(scope, receive, send)
            return
        tid = f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}".encode()

        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), (b"intuit_tid", tid)])
            await send(message)

        await self.app(scope, receive, tagged)


def install(app: FastAPI, sandbox: Sandbox) -> None:
    """Routes (OAuth, API v3, pages, control), error shapes, reset hook and demo seeder."""
    oauth_state = oauth.OAuthState(sandbox)
    api_state = ApiState(sandbox, oauth_state)
    router = APIRouter()
    oauth.install(router, oauth_state)
    api.install(router)
    pages.install(router, sandbox)
    control.install(router, sandbox, oauth_state, api_state)
    app.include_router(router)
    app.add_middleware(IntuitTid)
    errors.install_handlers(app)
    # Injected faults answer in the provider's shapes; the OAuth prefix must come first.
    sandbox.faults.error_bodies["/quickbooks/oauth"] = errors.injected_oauth_error
    sandbox.faults.error_bodies["/quickbooks/developer"] = errors.injected_oauth_error
    sandbox.faults.error_bodies["/quickbooks"] = errors.injected_api_error
    sandbox.reset_hooks.append(oauth_state.reset)
    sandbox.reset_hooks.append(api_state.reset)
    sandbox.seeders["quickbooks"] = seed.seed_demo
    sandbox.bench_seeders["quickbooks"] = seed.seed_bench
    sandbox.extras["quickbooks"] = {"oauth": oauth_state, "api": api_state}
