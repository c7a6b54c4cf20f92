"""The circuit per key in the Transport: opens after failures in a row, fails fast while open,
lets one trial through after the cool-down, ignores refusals, and is shared through Redis."""

from __future__ import annotations

import uuid

import httpx2
import pytest

from app.kit.circuit import Circuit, CircuitOpen, CircuitPolicy, Paused
from app.kit.http import RateLimits, RetryPolicy, Transport
from app.kit.ratelimit import storage_for
from app.providers.errors import (
    ProviderCircuitOpen,
    ProviderError,
    ProviderUnavailable,
    ProviderValidationError,
    circuit_open,
    unreachable,
)
from tests.worker.test_redis import REDIS_URL, redis_up


def parse_error(response: httpx2.Response) -> ProviderError:
    if response.status_code == 400:
        return ProviderValidationError([], provider="test")
    return ProviderUnavailable("down", provider="test")


class Service:
    """A stand-in answering each path with the status it is set to, counting calls."""

    def __init__(self) -> None:
        self.status = 500
        self.calls: list[str] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.calls.append(request.url.path)
        return httpx2.Response(self.status, json={})


def transport(
    service: Service, policy: CircuitPolicy, *, name: str | None = None, storage=None
) -> Transport:  # type: ignore[no-untyped-def]
    name = name or f"svc-{uuid.uuid4().hex[:8]}"
    return Transport(
        httpx2.AsyncClient(transport=httpx2.MockTransport(service)),
        name,
        RateLimits(per_minute=None, concurrent=None),
        parse_error,
        RetryPolicy(attempts=3, wait_scale=0.0),
        unreachable(name),
        circuit=Circuit(name, policy, storage or storage_for(None)),
        circuit_open=circuit_open(name, "Test Books"),
    )


async def get(t: Transport, tenant: str = "org-1", safe: bool = True) -> httpx2.Response:
    return await t.send("GET", f"http://p.test/{tenant}", tenant=tenant, safe=safe)


async def test_failures_in_a_row_open_the_circuit_and_later_calls_fail_fast() -> None:
    service = Service()
    t = transport(service, CircuitPolicy(failures=5, window=60, cool_down=30))
    # One send: three attempts, three failures (not yet open).
    with pytest.raises(ProviderUnavailable):
        await get(t)
    assert len(service.calls) == 3
    # The next send's second failure is the fifth in a row: it opens, and the send stops
    # retrying with the real failure as its outcome (the attempt went out).
    with pytest.raises(ProviderUnavailable):
        await get(t)
    assert len(service.calls) == 5
    # From now on nothing is sent: the call fails at once, saying why and until when.
    with pytest.raises(ProviderCircuitOpen) as refused:
        await get(t)
    assert len(service.calls) == 5
    error = refused.value
    assert error.status_code == 503 and error.code == "provider_circuit_open"
    assert "Test Books has failed 5 times in a row" in error.message
    assert "paused calls to it for 30 s" in error.message
    assert 1 <= int(error.headers["Retry-After"]) <= 30
    assert error.to_dict()["provider"] == t.name
    # Another organisation of the same service is not paused.
    service.status = 200
    assert (await get(t, "org-2")).status_code == 200
    paused = await t.circuit.paused("org-1")  # type: ignore[union-attr]
    assert isinstance(paused, Paused) and paused.failures == 5
    assert await t.circuit.paused("org-2") is None  # type: ignore[union-attr]


async def test_after_the_cool_down_one_trial_call_decides() -> None:
    service = Service()
    # A cool-down of 0: half-open as soon as it opens, so the trial comes next.
    t = transport(service, CircuitPolicy(failures=2, window=60, cool_down=0))
    with pytest.raises(ProviderUnavailable):
        await get(t)
    assert len(service.calls) == 2
    # The trial fails: open again (and, the cool-down being 0, half-open again).
    with pytest.raises(ProviderUnavailable):
        await get(t)
    assert len(service.calls) == 3  # one trial, no retries behind it
    service.status = 200
    assert (await get(t)).status_code == 200
    # Closed: the row of failures starts from nothing again.
    service.status = 500
    with pytest.raises(ProviderUnavailable):
        await get(t, safe=False)
    assert await t.circuit.paused("org-1") is None  # type: ignore[union-attr]


async def test_only_one_trial_at_a_time() -> None:
    circuit = Circuit(f"c-{uuid.uuid4().hex}", CircuitPolicy(2, 60, 30), storage_for(None))
    first = await circuit.admit("org")
    assert not isinstance(first, Paused)
    assert not await circuit.failed("org", first)
    assert await circuit.failed("org", first)
    assert isinstance(await circuit.admit("org"), Paused)
    # End the cool-down by hand (the storage's own key), as time would.
    await circuit.storage.clear(circuit._key("org", "open"))
    trial = await circuit.admit("org")
    assert not isinstance(trial, Paused) and trial.trial
    waiting = await circuit.admit("org")
    assert isinstance(waiting, Paused) and waiting.trial
    assert "trial call" in CircuitOpen(waiting).message
    await circuit.succeeded("org", trial)
    again = await circuit.admit("org")
    assert not isinstance(again, Paused) and not again.trial and again.failures == 0


async def test_a_refusal_is_an_answer_not_a_failure() -> None:
    service = Service()
    t = transport(service, CircuitPolicy(failures=4, window=60, cool_down=30))
    with pytest.raises(ProviderUnavailable):
        await get(t)  # three failures in a row
    service.status = 400
    for _ in range(5):
        with pytest.raises(ProviderValidationError):
            await get(t)
    # The refusals proved the service answers: the row was broken, nothing is paused.
    service.status = 500
    with pytest.raises(ProviderUnavailable):
        await get(t)
    assert len(service.calls) == 3 + 5 + 3
    assert await t.circuit.paused("org-1") is None  # type: ignore[union-attr]


async def test_without_a_caller_error_the_kit_says_circuit_open() -> None:
    service = Service()
    name = f"svc-{uuid.uuid4().hex[:8]}"
    t = Transport(
        httpx2.AsyncClient(transport=httpx2.MockTransport(service)),
        name,
        RateLimits(per_minute=None, concurrent=None),
        parse_error,
        RetryPolicy(attempts=1, wait_scale=0.0),
        circuit=Circuit(name, CircuitPolicy(1, 60, 30), storage_for(None)),
    )
    with pytest.raises(ProviderUnavailable):
        await get(t)
    with pytest.raises(CircuitOpen) as refused:
        await get(t)
    assert refused.value.status_code == 503 and refused.value.code == "provider_circuit_open"
    assert len(service.calls) == 1


async def test_processes_sharing_redis_share_the_circuit() -> None:
    if not await redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    name = f"shared-{uuid.uuid4().hex[:8]}"
    policy = CircuitPolicy(failures=2, window=60, cool_down=30)
    service = Service()
    # Two Transports over two storages on one Redis: two processes, as far as state goes.
    one = transport(service, policy, name=name, storage=storage_for(REDIS_URL))
    other = transport(service, policy, name=name, storage=storage_for(REDIS_URL))
    with pytest.raises(ProviderUnavailable):
        await get(one)
    with pytest.raises(ProviderCircuitOpen):
        await get(other)
    assert len(service.calls) == 2
    paused = await other.circuit.paused("org-1")  # type: ignore[union-attr]
    assert paused is not None and paused.failures == 2 and paused.cool_down == 30


async def test_a_circuit_turned_off_never_opens_nor_stops_retries() -> None:
    service = Service()
    t = transport(service, CircuitPolicy(failures=0))
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await get(t)
    # Every send made all its attempts: nothing was cut short or refused.
    assert len(service.calls) == 9
    assert await t.circuit.paused("org-1") is None  # type: ignore[union-attr]
