"""Outgoing webhook deliveries from the stand-ins, with bounded retries like the real ones."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx2

from app.logs import log


@dataclass
class Delivery:
    id: int
    provider: str
    url: str
    body: str
    headers: dict[str, str]
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False


class WebhookSender:
    """Posts signed payloads; retries on failure after the given delays (seconds)."""

    def __init__(self, client: httpx2.AsyncClient, retry_delays: tuple[float, ...]) -> None:
        self.client = client
        self.retry_delays = retry_delays
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.enabled = True

    def send(self, provider: str, url: str, body: bytes, headers: dict[str, str]) -> Delivery:
        delivery = Delivery(
            id=len(self.deliveries) + 1,
            provider=provider,
            url=url,
            body=body.decode(),
            headers=headers,
        )
        self.deliveries.append(delivery)
        if self.enabled and url:
            task = asyncio.get_running_loop().create_task(self._run(delivery, body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return delivery

    async def _run(self, delivery: Delivery, body: bytes) -> None:
        for delay in (0.0, *self.retry_delays):
            if delay:
                await asyncio.sleep(delay)
            started = time.time()
            try:
                response = await self.client.post(
                    delivery.url, content=body, headers=delivery.headers, timeout=10.0
                )
                delivery.attempts.append({"at": started, "status": response.status_code})
                if 200 <= response.status_code < 300:
                    delivery.delivered = True
                    return
            except httpx2.HTTPError as exc:
                delivery.attempts.append({"at": started, "error": type(exc).__name__})
        log.info("sandbox_webhook_gave_up", provider=delivery.provider, url=delivery.url)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for in-flight deliveries (tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def listing(self, provider: str | None = None) -> list[dict[str, Any]]:
        return [asdict(d) for d in self.deliveries if provider in (None, d.provider)]

    def reset(self) -> None:
        self.deliveries.clear()
        self.enabled = True
