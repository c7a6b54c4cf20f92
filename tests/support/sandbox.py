"""Driving the sandbox's control API from tests."""

from __future__ import annotations

from typing import Any

import httpx2


class SandboxControl:
    def __init__(self, http: httpx2.AsyncClient) -> None:
        self.http = http
        self.url = str(http.base_url).rstrip("/")

    async def _ok(self, response: httpx2.Response) -> Any:
        response.raise_for_status()
        return response.json()

    async def reset(self, seed: str | None = None) -> Any:
        await self._ok(await self.http.post("/_sandbox/reset"))
        if seed:
            return await self._ok(await self.http.post("/_sandbox/seed", params={"name": seed}))
        return None

    async def advance(self, seconds: float) -> Any:
        return await self._ok(
            await self.http.post("/_sandbox/clock/advance", json={"seconds": seconds})
        )

    async def fault(self, **spec: Any) -> Any:
        return await self._ok(await self.http.post("/_sandbox/faults", json=spec))

    async def clear_faults(self) -> Any:
        return await self._ok(await self.http.delete("/_sandbox/faults"))

    async def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        params = {"path": path} if path else {}
        result: list[dict[str, Any]] = await self._ok(
            await self.http.get("/_sandbox/requests", params=params)
        )
        return result

    async def clear_requests(self) -> Any:
        return await self._ok(await self.http.delete("/_sandbox/requests"))

    async def webhooks(self, provider: str | None = None) -> list[dict[str, Any]]:
        params = {"provider": provider} if provider else {}
        result: list[dict[str, Any]] = await self._ok(
            await self.http.get("/_sandbox/webhooks", params=params)
        )
        return result

    async def send_webhooks(self, enabled: bool) -> Any:
        return await self._ok(
            await self.http.post("/_sandbox/webhooks/sending", params={"enabled": enabled})
        )
