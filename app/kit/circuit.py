"""A circuit breaker per key (a provider organisation): stop calling a service that keeps
failing, for a cool-down, instead of making every waiting request sit through its timeouts.

Closed: calls go out; each unavailability (timeout, connection error, 5xx) adds one to the
key's count of failures in a row, and any answer (a success, or a refusal such as a 4xx that
proves the service is up) wipes it. ``failures`` in a row within ``window`` seconds open it.
Open: every call fails at once (``Paused``) for ``cool_down`` seconds. Half-open: after the
cool-down one trial call is let through while the others keep failing fast; its success closes
the circuit, its failure opens it for another cool-down. A quiet spell longer than the window
after the cool-down forgets the circuit entirely (closed).

The state is three counters in ``kit.ratelimit``'s storage (``limits``' ``incr``/``get``/
``get_expiry``, which both its Redis and its in-memory storages have): shared by every app and
worker process when ``REDIS_URL`` is set, per process otherwise, and forgotten with the other
in-memory budgets between tests. Expiries are whole seconds (Redis' EXPIRE); a cool-down of 0
means half-open at once (tests use it to reach the trial call without waiting).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from limits.aio.storage import Storage

from app.errors import ServiceUnavailable

T = TypeVar("T")


@dataclass(frozen=True)
class CircuitPolicy:
    """When a circuit opens and for how long; ``failures`` 0 turns circuits off."""

    failures: int = 5
    window: float = 60.0
    cool_down: float = 30.0


@dataclass(frozen=True)
class Paused:
    """Calls for the key fail fast until ``until`` (epoch seconds): ``failures`` in a row were
    seen; ``trial`` means the cool-down is over and one trial call is under way."""

    name: str
    failures: int
    until: float
    cool_down: float
    trial: bool = False

    @property
    def retry_after(self) -> float:
        return max(0.0, self.until - time.time())

    @property
    def until_iso(self) -> str:
        return datetime.fromtimestamp(self.until, UTC).isoformat(timespec="seconds")

    @property
    def until_text(self) -> str:
        """The end of the pause as HH:MM:SS UTC (what a person reads)."""
        return datetime.fromtimestamp(self.until, UTC).strftime("%H:%M:%S UTC")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


class CircuitOpen(ServiceUnavailable):
    """The default error for a paused key when the caller gives none (503, Retry-After)."""

    code = "provider_circuit_open"

    def __init__(self, paused: Paused) -> None:
        super().__init__(describe(paused, paused.name.capitalize()), headers=paused.headers())
        self.paused = paused


def describe(paused: Paused, label: str) -> str:
    """The pause in plain words, for an error message or a page."""
    if paused.trial:
        return (
            f"{label} has failed {paused.failures} times in a row; one trial call is checking "
            f"whether it is back. Try again in a few seconds."
        )
    return (
        f"{label} has failed {paused.failures} times in a row; we paused calls to it for "
        f"{paused.cool_down:.0f} s, until {paused.until_text}. Try again then."
    )


@dataclass(frozen=True)
class Admission:
    """A call let through: ``trial`` when it is the half-open trial; ``failures`` as seen."""

    trial: bool
    failures: int


@dataclass
class Tries:
    """One send's attempts as the circuit sees them: the last real failure, and whether the
    circuit stopped further attempts (then that failure, not "paused", is the outcome: the
    attempt went out, and a write may have reached the service)."""

    last: Exception | None = None
    halted: bool = False


def _seconds(value: float) -> int:
    return max(0, math.ceil(value))


class Circuit:
    """The circuits of one service (``name``), one per key, in ``storage``."""

    def __init__(self, name: str, policy: CircuitPolicy, storage: Storage) -> None:
        self.name = name
        self.policy = policy
        self.storage = storage

    def _key(self, key: str, part: str) -> str:
        return f"circuit/{self.name}/{key}/{part}"

    async def paused(self, key: str) -> Paused | None:
        """The pause in force for ``key`` (open), or None (closed or half-open); reads only."""
        if not self.policy.failures:
            return None
        failures = await self.storage.get(self._key(key, "failures"))
        if failures < self.policy.failures:
            return None
        return await self._open(key, failures)

    async def _open(self, key: str, failures: int) -> Paused | None:
        opened = self._key(key, "open")
        if await self.storage.get(opened) <= 0:
            return None
        until = await self.storage.get_expiry(opened)
        return Paused(self.name, failures, until, self.policy.cool_down)

    async def admit(self, key: str) -> Admission | Paused:
        """Let a call through (closed, or the one half-open trial), or say it is paused."""
        if not self.policy.failures:
            return Admission(trial=False, failures=0)
        failures = await self.storage.get(self._key(key, "failures"))
        if failures < self.policy.failures:
            return Admission(trial=False, failures=failures)
        paused = await self._open(key, failures)
        if paused is not None:
            return paused
        # Half-open: the first caller takes the trial; the trial marker expires after a
        # cool-down, so a trial whose process died does not hold the circuit for ever.
        trial = self._key(key, "trial")
        ttl = _seconds(self.policy.cool_down)
        if await self.storage.incr(trial, ttl) == 1:
            return Admission(trial=True, failures=failures)
        until = max(time.time() + 1, await self.storage.get_expiry(trial))
        return Paused(self.name, failures, until, self.policy.cool_down, trial=True)

    async def succeeded(self, key: str, admission: Admission) -> None:
        """The service answered: the row of failures is broken (closed)."""
        if admission.failures or admission.trial:
            for part in ("failures", "open", "trial"):
                await self.storage.clear(self._key(key, part))

    async def released(self, key: str, admission: Admission) -> None:
        """Neither answered nor failed (cancelled, refused by our own budget)."""
        if admission.trial:
            await self.storage.clear(self._key(key, "trial"))

    async def failed(self, key: str, admission: Admission) -> bool:
        """One more unavailability; True when the circuit is now open."""
        if not self.policy.failures:
            return False
        failures_key = self._key(key, "failures")
        failures = await self.storage.incr(failures_key, _seconds(self.policy.window))
        if failures < self.policy.failures:
            await self.released(key, admission)
            return False
        opened = self._key(key, "open")
        await self.storage.clear(opened)
        await self.storage.incr(opened, _seconds(self.policy.cool_down))
        # The count must outlive the cool-down, so the first call after it is a lone trial.
        await self.storage.clear(failures_key)
        await self.storage.incr(
            failures_key, _seconds(self.policy.cool_down + self.policy.window), failures
        )
        await self.released(key, admission)
        return True

    async def guard(
        self,
        key: str,
        call: Callable[[], Awaitable[T]],
        tries: Tries,
        *,
        refused: Callable[[Paused], Exception],
        is_failure: Callable[[Exception], bool],
        is_neutral: Callable[[Exception], bool],
    ) -> T:
        """Run ``call`` unless ``key`` is paused, and count its outcome: ``is_failure``
        (unavailability) counts, ``is_neutral`` (e.g. our own budget refused it) does not
        count either way, any other error is an answer and closes the circuit."""
        admission = await self.admit(key)
        if isinstance(admission, Paused):
            tries.halted = True
            if tries.last is not None:
                raise tries.last
            raise refused(admission)
        try:
            result = await call()
        except Exception as exc:
            if is_failure(exc):
                tries.last = exc
                tries.halted = await self.failed(key, admission)
            elif is_neutral(exc):
                await self.released(key, admission)
            else:
                await self.succeeded(key, admission)
            raise
        except BaseException:
            await self.released(key, admission)
            raise
        await self.succeeded(key, admission)
        return result
