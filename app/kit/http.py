"""Outbound calls to another service: per-key rate limits, Retry-After, and safe retries.

Every call to Xero, QuickBooks or Pipedrive goes through ``Transport.send``:

* per key (a provider tenant, a Pipedrive company) a moving-window call budget
  (``kit.ratelimit``: per second, minute and day, shared through Redis across processes when
  configured) and an ``asyncio.Semaphore`` (calls in flight, per process), e.g. Xero 60/min,
  5,000/day and 5 concurrent, QuickBooks 500/min, 10/s and 10 concurrent;
* after a 429 for a key, every call for that key waits until its ``Retry-After`` passes; a
  ``pause_after`` hook lets a service's own headers (Pipedrive's ``x-ratelimit-remaining: 0``)
  hold the key the same way;
* tenacity retries with exponential backoff on 5xx, timeouts and connection errors, but only
  for calls that are safe to repeat: reads, and writes carrying an idempotency key. Anything
  else fails at once, marked "outcome unknown";
* a short 429 is retried after its ``Retry-After``, for any call (nothing was done); a long or
  daily one is surfaced at once (with ``refused`` given, later calls fail fast until then);
* with a ``circuit`` (``kit.circuit``), a key that keeps failing (5xx, timeouts) is paused for
  a cool-down: its calls fail fast with ``circuit_open``'s error; a send that opened it stops.

The kit knows no service: ``parse_error`` turns a non-2xx answer into the caller's own error,
which says what it means by subclassing ``RateLimited`` or ``Unavailable`` below.

The per-key state lives in a ``Budgets`` object, so one Transport per service per process (or
one ``Budgets`` shared by short-lived Transports) keeps all callers of a key under one budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from app.errors import ServiceUnavailable
from app.kit.circuit import Circuit, CircuitOpen, Paused, Tries
from app.kit.ratelimit import BudgetExhausted, CallBudget, Windows, budget_storage

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class RateLimited(Exception):
    """Mixin for a caller's error meaning "slow down" (429).

    ``retry_after`` is in seconds; ``daily`` means the key's daily allowance is spent.
    """

    retry_after: float | None = None
    daily: bool = False


class Unavailable(Exception):
    """Mixin for a caller's error meaning "down, timed out or 5xx: try again later"."""

    retry_after: float | None = None
    outcome_unknown: bool = False

    def mark_outcome_unknown(self) -> None:
        """A write may have reached the other side before it failed."""
        self.outcome_unknown = True


class ServiceUnreachable(ServiceUnavailable, Unavailable):
    """The default error for a timeout or connection failure when the caller gives none."""

    def __init__(self, name: str, what: str, safe: bool, retry_after: float) -> None:
        super().__init__(
            f"{name.capitalize()} {what}; try again shortly.",
            headers={"Retry-After": str(int(retry_after))},
        )
        self.retry_after = retry_after
        self.outcome_unknown = not safe


@dataclass(frozen=True)
class RateLimits:
    """A service's per-key budget; ``None`` means no limit of that kind."""

    per_minute: int | None
    concurrent: int | None
    per_second: int | None = None
    per_day: int | None = None

    @property
    def windows(self) -> Windows:
        return Windows(
            per_second=self.per_second or 0,
            per_minute=self.per_minute or 0,
            per_day=self.per_day or 0,
        )


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Tests shrink the waits; production keeps the defaults."""

    attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    # A minute-limit 429 is waited out and retried in place only when Retry-After is at most
    # this; longer waits are surfaced as the caller's RateLimited error. Interactive requests
    # keep it short (Pipedrive gives up after about 10 s); the worker may raise it to ride out
    # a whole minute window (QuickBooks asks for 60 s).
    max_retry_after: float = 8.0
    # Scales every wait (backoff and Retry-After); tests set it near 0.
    wait_scale: float = 1.0
    # Advice given to callers in Unavailable.retry_after.
    unavailable_retry_after: float = 30.0


@dataclass
class _KeyBudget:
    semaphore: asyncio.Semaphore | None
    blocked_until: float = 0.0
    refused_until: float = 0.0


class Budgets:
    """Per-key limiter state; share one between Transports that must share a budget.

    The call windows live in ``kit.ratelimit``'s storage: Redis when configured (every
    process draws on one budget), else this object's own memory.
    """

    def __init__(self, limits: RateLimits, name: str = "calls") -> None:
        self.limits = limits
        self.calls = CallBudget(name, limits.windows, budget_storage())
        self._keys: dict[str, _KeyBudget] = {}

    def get(self, key: str) -> _KeyBudget:
        budget = self._keys.get(key)
        if budget is None:
            concurrent = self.limits.concurrent
            budget = _KeyBudget(asyncio.Semaphore(concurrent) if concurrent else None)
            self._keys[key] = budget
        return budget

    def block(self, key: str, seconds: float) -> None:
        """Hold every call for ``key`` for ``seconds``."""
        budget = self.get(key)
        budget.blocked_until = max(budget.blocked_until, time.monotonic() + seconds)

    def refuse(self, key: str, seconds: float) -> None:
        """Fail every call for ``key`` at once for ``seconds`` (a spent daily budget)."""
        budget = self.get(key)
        budget.refused_until = max(budget.refused_until, time.monotonic() + seconds)

    def clear(self) -> None:
        self._keys.clear()


ErrorParser = Callable[[httpx2.Response], Exception]
# (what happened, whether the call was safe to repeat, advised wait) -> the caller's
# Unavailable error.
Unreachable = Callable[[str, bool, float], Exception]
# seconds still to wait -> the caller's RateLimited error, raised without calling.
Refused = Callable[[float], Exception]
# A response's own headers may say "wait before the next call": seconds, or None.
PauseAfter = Callable[[httpx2.Response], float | None]
# The key's circuit is open -> the caller's error, raised without calling.
CircuitRefused = Callable[[Paused], Exception]


async def _no_sleep_for_zero(sleep: Sleep, seconds: float) -> None:
    if seconds > 0:
        await sleep(seconds)


@dataclass
class Transport:
    """Sends requests for one service; ``parse_error`` turns a non-2xx answer into an error."""

    http: httpx2.AsyncClient
    name: str
    limits: RateLimits
    parse_error: ErrorParser
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    unreachable: Unreachable | None = None
    refused: Refused | None = None
    # Our own call budget is spent for longer than the retry policy waits: the caller's
    # RateLimited error, raised without calling (None: wait it out, however long).
    over_budget: Refused | None = None
    pause_after: PauseAfter | None = None
    budgets: Budgets | None = None
    sleep: Sleep = asyncio.sleep
    # Pause a key that keeps failing (None: never); its error defaults to kit's CircuitOpen.
    circuit: Circuit | None = None
    circuit_open: CircuitRefused = CircuitOpen

    def __post_init__(self) -> None:
        if self.budgets is None:
            self.budgets = Budgets(self.limits, self.name)

    @property
    def _budgets(self) -> Budgets:
        assert self.budgets is not None
        return self.budgets

    def block_tenant(self, tenant: str, seconds: float) -> None:
        """Hold every call to ``tenant`` for ``seconds`` (after a 429)."""
        self._budgets.block(tenant, seconds)

    @asynccontextmanager
    async def _slot(self, key: str) -> Any:
        budget = self._budgets.get(key)
        if (refused := budget.refused_until - time.monotonic()) > 0 and self.refused:
            raise self.refused(refused)
        if budget.semaphore is None:
            await self._wait_out(key, budget)
            yield
            return
        async with budget.semaphore:
            await self._wait_out(key, budget)
            yield

    async def _wait_out(self, key: str, budget: _KeyBudget) -> None:
        # Checked after queueing too: a 429 may have arrived while this call waited, and
        # another 429 may push the deadline while we sleep (hence a loop, not an Event). Each
        # deadline is slept once, so an injected sleep that does not pass time cannot spin.
        slept_for = 0.0
        while (deadline := budget.blocked_until) > slept_for:
            slept_for = deadline
            if (wait := deadline - time.monotonic()) > 0:
                await self.sleep(wait)
        await self._spend(key)

    async def _spend(self, key: str) -> None:
        """Count this call in the key's windows, waiting for a short window to move on. A wait
        longer than the retry policy allows (a spent minute under an interactive policy, a
        spent day) is refused at once when the caller says how (``over_budget``); otherwise it
        is waited out."""
        calls = self._budgets.calls
        calls.max_wait = self.retry.max_retry_after if self.over_budget else float("inf")
        try:
            await calls.acquire(key)
        except BudgetExhausted as exc:
            assert self.over_budget is not None
            raise self.over_budget(exc.retry_after) from exc

    def _retryable(self, safe: bool, tries: Tries) -> Callable[[BaseException], bool]:
        def check(exc: BaseException) -> bool:
            if tries.halted:
                return False  # the key's circuit is open: another attempt would be refused
            if isinstance(exc, RateLimited):
                # A 429 is a refusal before any work: repeating it cannot duplicate anything,
                # so even an unsafe write waits out a short one.
                return not exc.daily and (
                    exc.retry_after is None or exc.retry_after <= self.retry.max_retry_after
                )
            return isinstance(exc, Unavailable) and safe

        return check

    def _wait(self) -> Callable[[RetryCallState], float]:
        backoff = wait_exponential(
            multiplier=self.retry.backoff_initial, max=self.retry.backoff_max
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RateLimited) and exc.retry_after is not None:
                # The key is blocked until then anyway; the slot waits it out.
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
        """Send one request under the key's (``tenant``'s) budget; return the 2xx response or
        raise the caller's error.

        ``safe`` says whether repeating the request cannot create a duplicate (GETs, and
        writes carrying an idempotency key).
        """
        tries = Tries()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait(),
            retry=retry_if_exception(self._retryable(safe, tries)),
            sleep=lambda seconds: _no_sleep_for_zero(self.sleep, seconds),
            reraise=True,
        )
        request = _Request(method, url, headers, params, json, content, data)
        async for attempt in retrying:
            with attempt:
                if self.circuit is None:
                    return await self._once(request, tenant, safe)
                return await self.circuit.guard(
                    tenant,
                    lambda: self._once(request, tenant, safe),
                    tries,
                    refused=self.circuit_open,
                    is_failure=lambda exc: isinstance(exc, Unavailable),
                    # A 429 (ours or theirs) says nothing about whether the service is up.
                    is_neutral=lambda exc: isinstance(exc, RateLimited),
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, request: _Request, key: str, safe: bool) -> httpx2.Response:
        async with self._slot(key):
            try:
                response = await self.http.request(request.method, request.url, **request.kw())
            except httpx2.TimeoutException as exc:
                raise self._unavailable(f"timed out ({type(exc).__name__})", safe) from exc
            except httpx2.TransportError as exc:
                raise self._unavailable(
                    f"could not be reached ({type(exc).__name__})", safe
                ) from exc
        if self.pause_after and (pause := self.pause_after(response)):
            self._budgets.block(key, pause * self.retry.wait_scale)
        if response.is_success:
            return response
        raise self._failure(self.parse_error(response), request.method, key, safe)

    def _failure(self, error: Exception, method: str, key: str, safe: bool) -> Exception:
        if isinstance(error, RateLimited):
            log.warning(
                "rate_limited",
                service=self.name,
                tenant=key,
                retry_after=error.retry_after,
                daily=error.daily,
            )
            if error.retry_after:
                wait = error.retry_after * self.retry.wait_scale
                long_wait = error.daily or error.retry_after > self.retry.max_retry_after
                if self.refused is not None and long_wait:
                    self._budgets.refuse(key, wait)
                else:
                    self._budgets.block(key, wait)
        elif isinstance(error, Unavailable) and not safe and method != "GET":
            error.mark_outcome_unknown()
        return error

    def _unavailable(self, what: str, safe: bool) -> Exception:
        retry_after = self.retry.unavailable_retry_after
        if self.unreachable is None:
            return ServiceUnreachable(self.name, what, safe, retry_after)
        return self.unreachable(what, safe, retry_after)


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    headers: Mapping[str, str] | None
    params: Mapping[str, Any] | None
    json: Any
    content: bytes | str | None
    data: Mapping[str, str] | None

    def kw(self) -> dict[str, Any]:
        return {
            "headers": dict(self.headers or {}),
            "params": dict(self.params or {}),
            "json": self.json,
            "content": self.content,
            "data": dict(self.data) if self.data is not None else None,
        }


def retry_after_seconds(response: httpx2.Response, default: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta form; an HTTP date is turned into a delta)."""
    value = response.headers.get("Retry-After")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        return max(0.0, when.timestamp() - time.time())
