"""Outbound calls to a provider: per-tenant rate limits, Retry-After, and safe retries.

Every adapter call goes through ``Transport.send``:

* a per-tenant ``aiolimiter.AsyncLimiter`` (calls per minute) and ``asyncio.Semaphore``
  (calls in flight), e.g. Xero 60/min and 5 concurrent, QuickBooks 500/min and 10 concurrent;
* after a 429 for a tenant, every call to that tenant waits until its ``Retry-After`` passes;
* tenacity retries with exponential backoff on 5xx, timeouts and connection errors, but only
  for calls that are safe to repeat: reads, and writes carrying an idempotency key (Xero
  ``Idempotency-Key``, QuickBooks ``requestid``). Anything else fails at once with
  ``ProviderUnavailable(outcome_unknown=True)``;
* a minute-limit 429 is retried after its ``Retry-After`` when that is short enough; a daily
  limit 429 is surfaced at once as ``ProviderRateLimited(daily=True)``, never retried.

The limiter state lives in the Transport, so one Transport per provider per process (the
adapters are built once at startup) keeps all callers of a tenant under one budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import structlog
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from app.providers.errors import ProviderError, ProviderRateLimited, ProviderUnavailable

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RateLimits:
    """A provider's per-tenant budget."""

    per_minute: int
    concurrent: int


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Tests shrink the waits; production keeps the defaults."""

    attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    # A minute-limit 429 is waited out and retried in place only when Retry-After is at most
    # this; longer waits are surfaced as ProviderRateLimited(retry_after=...). Interactive
    # requests keep it short (their callers give up after about 10 s); the worker may raise it to
    # ride out a whole minute window (QuickBooks asks for 60 s).
    max_retry_after: float = 8.0
    # Scales every wait (backoff and Retry-After); tests set it near 0.
    wait_scale: float = 1.0
    # Advice given to callers in ProviderUnavailable.retry_after.
    unavailable_retry_after: float = 30.0


@dataclass
class _TenantBudget:
    limiter: AsyncLimiter
    semaphore: asyncio.Semaphore
    blocked_until: float = 0.0


ErrorParser = Callable[[httpx2.Response], ProviderError]


@dataclass
class Transport:
    """Sends requests for one provider; ``parse_error`` turns a non-2xx answer into an error."""

    http: httpx2.AsyncClient
    provider: str
    limits: RateLimits
    parse_error: ErrorParser
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    _budgets: dict[str, _TenantBudget] = field(default_factory=dict)

    def _budget(self, tenant: str) -> _TenantBudget:
        budget = self._budgets.get(tenant)
        if budget is None:
            budget = _TenantBudget(
                AsyncLimiter(self.limits.per_minute, 60), asyncio.Semaphore(self.limits.concurrent)
            )
            self._budgets[tenant] = budget
        return budget

    def block_tenant(self, tenant: str, seconds: float) -> None:
        """Hold every call to ``tenant`` for ``seconds`` (after a provider 429)."""
        budget = self._budget(tenant)
        budget.blocked_until = max(budget.blocked_until, time.monotonic() + seconds)

    @asynccontextmanager
    async def _slot(self, tenant: str) -> Any:
        budget = self._budget(tenant)
        async with budget.semaphore:
            # Checked after queueing too: a 429 may have arrived while this call waited, and
            # another 429 may push the deadline while we sleep (hence a loop, not an Event).
            while (wait := budget.blocked_until - time.monotonic()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
            await budget.limiter.acquire()
            yield

    def _retryable(self, safe: bool) -> Callable[[BaseException], bool]:
        def check(exc: BaseException) -> bool:
            if isinstance(exc, ProviderRateLimited):
                return (
                    not exc.daily
                    and exc.retry_after is not None
                    and exc.retry_after <= self.retry.max_retry_after
                    and safe
                )
            return isinstance(exc, ProviderUnavailable) and safe

        return check

    def _wait(self) -> Callable[[RetryCallState], float]:
        backoff = wait_exponential(
            multiplier=self.retry.backoff_initial, max=self.retry.backoff_max
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, ProviderRateLimited) and exc.retry_after is not None:
                # The tenant is blocked until then anyway; the slot waits it out.
                return 0.0
            return float(backoff(state)) * self.retry.wait_scale

        return wait

    async def send(
        self,
        method: str,
        url: str,
        *,
        tenant: str,
        safe: bool,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx2.Response:
        """Send one request under the tenant's budget; return the 2xx response or raise.

        ``safe`` says whether repeating the request cannot create a duplicate (GETs, and
        writes carrying an idempotency key).
        """
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait(),
            retry=retry_if_exception(self._retryable(safe)),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(
                    method, url, tenant, safe, headers, params, json, content, data
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self,
        method: str,
        url: str,
        tenant: str,
        safe: bool,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        json: Any,
        content: bytes | str | None,
        data: Mapping[str, str] | None,
    ) -> httpx2.Response:
        async with self._slot(tenant):
            try:
                response = await self.http.request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    params=dict(params or {}),
                    json=json,
                    content=content,
                    data=dict(data) if data is not None else None,
                )
            except httpx2.TimeoutException as exc:
                raise self._unavailable(f"timed out ({type(exc).__name__})", safe) from exc
            except httpx2.TransportError as exc:
                raise self._unavailable(
                    f"could not be reached ({type(exc).__name__})", safe
                ) from exc
        if response.is_success:
            return response
        error = self.parse_error(response)
        if isinstance(error, ProviderRateLimited):
            log.warning(
                "provider_rate_limited",
                provider=self.provider,
                tenant=tenant,
                retry_after=error.retry_after,
                daily=error.daily,
            )
            if error.retry_after:
                self.block_tenant(tenant, error.retry_after * self.retry.wait_scale)
        elif isinstance(error, ProviderUnavailable) and not safe and method != "GET":
            error.outcome_unknown = True
            error.extra["outcome_unknown"] = True
        return self._raise(error)

    def _raise(self, error: ProviderError) -> httpx2.Response:
        raise error

    def _unavailable(self, what: str, safe: bool) -> ProviderUnavailable:
        return ProviderUnavailable(
            f"{self.provider.capitalize()} {what}; try again shortly.",
            provider=self.provider,
            retry_after=self.retry.unavailable_retry_after,
            outcome_unknown=not safe,
        )


def retry_after_seconds(response: httpx2.Response, default: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta form; an HTTP date is turned into a delta)."""
    value = response.headers.get("Retry-After")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        return max(0.0, when.timestamp() - time.time())
