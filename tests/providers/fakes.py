"""In-process HTTP fakes for unit-testing the adapters' requests and error handling.

They answer from canned JSON (the Xero ones from the official spec's own examples) and record
every request, so the tests can check what was sent. End-to-end behaviour against the
sandbox stand-ins is tested separately over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import httpx2

from app.providers.jsonutil import loads

Handler = Callable[[httpx2.Request], httpx2.Response]


def dump(value: Any) -> bytes:
    def default(o: Any) -> Any:
        if isinstance(o, datetime | date):
            return o.isoformat()
        return str(o)

    return json.dumps(value, default=default).encode()


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(
        status, content=dump(body), headers={"Content-Type": "application/json", **(headers or {})}
    )


class Recorder:
    """A MockTransport handler that records requests and delegates to ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))

    def bodies(self) -> list[Any]:
        return [loads(r.content) if r.content else None for r in self.requests]

    def last(self) -> httpx2.Request:
        return self.requests[-1]
