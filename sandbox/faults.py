"""Injected faults and the request log, as one pure ASGI middleware around every stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, Field

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FAULT_KINDS = (
    "latency",
    "status",
    "rate_limit",
    "timeout",
    "drop",
    "commit_then_fail",
    "commit_then_timeout",
)


class FaultSpec(BaseModel):
    """One rule: which requests it matches and what it does to them."""

    kind: str = Field(
        description="latency | status | rate_limit | timeout | drop | commit_then_fail | "
        "commit_then_timeout"
    )
    path: str = Field(".*", description="regex searched in the request path")
    method: str | None = None
    latency_ms: int = 0
    status: int = 500
    retry_after: int = 60
    # 429 only: X-Rate-Limit-Problem value for Xero-style answers.
    problem: str = "minute"
    probability: float = Field(1.0, ge=0, le=1)
    count: int | None = Field(None, description="apply to this many matching requests, then expire")


@dataclass
class FaultRule:
    id: int
    spec: FaultSpec
    pattern: re.Pattern[str]
    remaining: int | None

    def matches(self, method: str, path: str) -> bool:
        if self.spec.method and self.spec.method.upper() != method:
            return False
        return bool(self.pattern.search(path))


@dataclass
class LoggedRequest:
    at: float
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str
    status: int = 0
    fault: str | None = None
    duration_ms: float = 0.0


# Provider-shaped bodies for injected errors, keyed by path prefix.
ErrorBody = Callable[[int, FaultSpec], tuple[bytes, dict[str, str]]]


def _default_error(status: int, spec: FaultSpec) -> tuple[bytes, dict[str, str]]:
    return json.dumps({"error": "injected", "status": status}).encode(), {}


@dataclass
class Faults:
    rules: list[FaultRule] = field(default_factory=list)
    log: deque[LoggedRequest] = field(default_factory=lambda: deque(maxlen=20000))
    error_bodies: dict[str, ErrorBody] = field(default_factory=dict)
    _next_id: int = 1
    rng: random.Random = field(default_factory=random.Random)

    def add(self, spec: FaultSpec) -> FaultRule:
        if spec.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {spec.kind!r}; one of {', '.join(FAULT_KINDS)}")
        rule = FaultRule(self._next_id, spec, re.compile(spec.path), spec.count)
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, method: str, path: str) -> list[FaultRule]:
        chosen = []
        for rule in list(self.rules):
            if not rule.matches(method, path):
                continue
            if rule.spec.probability < 1 and self.rng.random() >= rule.spec.probability:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.rules.remove(rule)
            chosen.append(rule)
        return chosen

    def error_body(self, path: str, status: int, spec: FaultSpec) -> tuple[bytes, dict[str, str]]:
        for prefix, make in self.error_bodies.items():
            if path.startswith(prefix):
                return make(status, spec)
        return _default_error(status, spec)

    def entries(self, path_contains: str | None = None) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.log if path_contains is None or path_contains in e.path]


LOGGED_HEADERS = (
    "authorization",
    "xero-tenant-id",
    "idempotency-key",
    "if-modified-since",
    "accept",
    "content-type",
    "x-xero-signature",
    "intuit-signature",
)


class FaultMiddleware:
    """Logs every stand-in request and applies the matching fault rules."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        entry = LoggedRequest(
            at=time.time(),
            method=method,
            path=path,
            query=scope.get("query_string", b"").decode(),
            headers={k: v for k, v in headers.items() if k in LOGGED_HEADERS},
            body=body[:4000].decode("utf-8", "replace"),
        )
        self.faults.log.append(entry)
        started = time.perf_counter()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                # Streaming responses listen for the client going away: pass the real channel.
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            await send(message)

        rules = self.faults.pick(method, path)
        for rule in rules:
            if rule.spec.latency_ms:
                await asyncio.sleep(rule.spec.latency_ms / 1000)
        acting = next((r for r in rules if r.spec.kind != "latency"), None)
        try:
            if acting is None:
                await self.app(scope, replay, record)
                return
            entry.fault = acting.spec.kind
            await self._act(acting.spec, scope, replay, record, path)
        finally:
            entry.duration_ms = round((time.perf_counter() - started) * 1000, 2)

    async def _act(
        self, spec: FaultSpec, scope: Scope, receive: Receive, send: Send, path: str
    ) -> None:
        if spec.kind in ("commit_then_fail", "commit_then_timeout"):
            # The stand-in does the write; the caller never hears about it.
            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            if spec.kind == "commit_then_timeout":
                # Committed, then no answer at all: the caller's read timeout fires.
                await self._hang(receive, spec)
                return
            await self._drop(send)
            return
        if spec.kind == "timeout":
            # The write is not performed, and no answer comes.
            await self._hang(receive, spec)
            return
        if spec.kind == "drop":
            await self._drop(send)
            return
        status = 429 if spec.kind == "rate_limit" else spec.status
        body, extra = self.faults.error_body(path, status, spec)
        headers = [(b"content-type", b"application/json")]
        headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        if status == 429 and not any(k == b"retry-after" for k, _ in headers):
            headers.append((b"retry-after", str(spec.retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _hang(receive: Receive, spec: FaultSpec) -> None:
        """Answer nothing: long enough for any client timeout (120 s at least), or until the
        caller hangs up, after which there is no one to answer (and a stopping server need not
        wait for us)."""

        async def hung_up() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hung_up(), max(spec.latency_ms / 1000, 120))

    @staticmethod
    async def _drop(send: Send) -> None:
        # Promise a body, send part of it, then fail: the server closes the connection and the
        # client sees a protocol error, as when a connection is cut mid-answer.
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
            }
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise ConnectionAbortedError("sandbox dropped the connection on purpose")
