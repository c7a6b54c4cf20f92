"""FastAPI dependencies other domains use to reach a company's provider connection.

    async def endpoint(user: CurrentUser, tokens: Tokens) -> ...:
        adapter = tokens.facade("xero").adapter
        invoice = await tokens.call(user.company_id, "xero",
                                    lambda creds: adapter.get_invoice(creds, invoice_id))

``tokens.call`` hands the adapter valid credentials (refreshing when needed), retries once on a
401, and raises NotConnected / NeedsReauth (409 with ``reconnect_url``) when it cannot.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from app.connections.oauth import adapters_of
from app.connections.tokens import TokenService


def get_adapters(request: Request) -> dict[Any, Any]:
    """The app's adapters (built once per app: they hold the per-tenant rate limiters)."""
    state = request.app.state
    return adapters_of(state, state.settings, state.http)


def tokens_of(state: Any) -> TokenService:
    """The token service over a process's state (the app's, or a worker's): its sessions,
    HTTP client and adapters."""
    adapters = adapters_of(state, state.settings, state.http)
    return TokenService(state.settings, state.sessionmaker, state.http, adapters=adapters)


def get_token_service(request: Request) -> TokenService:
    """The token service over the app's own sessions, HTTP client and adapters."""
    return tokens_of(request.app.state)


Adapters = Annotated[dict[Any, Any], Depends(get_adapters)]
Tokens = Annotated[TokenService, Depends(get_token_service)]
