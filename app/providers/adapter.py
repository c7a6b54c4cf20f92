"""The skeleton every HTTP accounting adapter shares: one ``Transport`` per adapter (so the
per-tenant budgets and circuits cover all of a process's callers), its OAuth client, and one
way to send an authenticated JSON request. Each adapter adds its own URLs, headers and answer
shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2

from app.kit.circuit import Circuit, CircuitPolicy, Paused
from app.kit.http import ErrorParser, RateLimits, RetryPolicy, Transport
from app.kit.ratelimit import budget_storage
from app.providers.base import Credentials
from app.providers.errors import circuit_open, over_budget, unreachable
from app.providers.jsonutil import dumps
from app.providers.oauth import ProviderOAuthClient


class HttpAdapter:
    """Base of the Xero and QuickBooks adapters; a subclass names its pieces."""

    provider: str
    rate_limits: RateLimits
    # A staticmethod in the subclass: the provider's non-2xx answer → ProviderError.
    error_parser: ErrorParser
    oauth_class: Callable[[Any, httpx2.AsyncClient], ProviderOAuthClient]
    settings: Any
    display_name: str

    def __init__(
        self,
        settings: Any,
        http: httpx2.AsyncClient,
        *,
        retry: RetryPolicy | None = None,
        limits: RateLimits | None = None,
        circuit: CircuitPolicy | None = None,
    ) -> None:
        self.settings = settings
        # One circuit per organisation (the Transport's key): a Xero organisation that keeps
        # failing is paused for every company and process that calls it. The app's adapters
        # get the configured policy (``build_providers``); a bare adapter has none.
        breaker = Circuit(self.provider, circuit, budget_storage()) if circuit else None
        self.transport = Transport(
            http,
            self.provider,
            limits or self.rate_limits,
            self.error_parser,
            retry or RetryPolicy(),
            unreachable(self.provider),
            over_budget=over_budget(self.provider),
            circuit=breaker,
            circuit_open=circuit_open(self.provider, self.display_name),
        )
        self.oauth = self.oauth_class(settings, http)

    async def paused(self, tenant_id: str) -> Paused | None:
        """Whether calls for the organisation are paused (its circuit is open)."""
        breaker = self.transport.circuit
        return await breaker.paused(tenant_id) if breaker else None

    async def _send(
        self,
        creds: Credentials,
        method: str,
        url: str,
        *,
        safe: bool,
        headers: dict[str, str],
        params: dict[str, Any] | None = None,
        body: Any = None,
        content: bytes | str | None = None,
    ) -> httpx2.Response:
        """Send with the tenant's bearer token; ``body`` goes as JSON (exact decimals)."""
        headers = {"Authorization": f"Bearer {creds.access_token}", **headers}
        if body is not None:
            content = dumps(body)
            headers["Content-Type"] = "application/json"
        return await self.transport.send(
            method,
            url,
            tenant=creds.tenant_id,
            safe=safe,
            headers=headers,
            params=params,
            content=content,
        )
