"""The skeleton every HTTP accounting adapter shares: one ``Transport`` per adapter (so the
per-tenant budgets cover all of a process's callers), its OAuth client, and one way to send an
authenticated JSON request. Each adapter adds its own URLs, headers and answer shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2

from app.kit.http import ErrorParser, RateLimits, RetryPolicy, Transport
from app.providers.base import Credentials
from app.providers.errors import over_budget, unreachable
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

    def __init__(
        self,
        settings: Any,
        http: httpx2.AsyncClient,
        *,
        retry: RetryPolicy | None = None,
        limits: RateLimits | None = None,
    ) -> None:
        self.settings = settings
        self.transport = Transport(
            http,
            self.provider,
            limits or self.rate_limits,
            self.error_parser,
            retry or RetryPolicy(),
            unreachable(self.provider),
            over_budget=over_budget(self.provider),
        )
        self.oauth = self.oauth_class(settings, http)

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
