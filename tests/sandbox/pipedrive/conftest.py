"""The Pipedrive stand-in over ASGI on an in-memory store, plus a small receiver app on a real
port standing in for our product (uninstall callbacks and webhooks land there)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from sandbox.app import Sandbox, create_sandbox_app
from sandbox.config import SandboxSettings
from sandbox.oauth import Client
from tests.sandbox.pipedrive.sdk_pages import SDK_BUNDLE, SDK_PAGE, SILENT_PAGE
from tests.support.servers import ServerThread, free_port

CLIENT_ID = "pd-test-client"
CLIENT_SECRET = "pd-test-secret-0123456789"
JWT_SECRET = "pd-jwt-secret-0123456789abcdef"
PUBLIC = "http://sandbox.test"
NORTHWIND = f"{PUBLIC}/pipedrive/c/northwind"
CONTOSO = f"{PUBLIC}/pipedrive/c/contoso"


def basic(user: str = CLIENT_ID, password: str = CLIENT_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Receiver:
    """What our product would have received."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200

    def of(self, method: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method]


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    port = free_port()
    receiver = Receiver(url=f"http://127.0.0.1:{port}")
    app = FastAPI()

    # Our custom UIs as the host frames them: the panel and the create-invoice modal use the
    # real SDK; /pages/silent never initialises it.
    @app.get("/pipedrive/panel")
    @app.get("/pipedrive/modal/create-invoice")
    async def sdk_page() -> HTMLResponse:
        return HTMLResponse(SDK_PAGE)

    @app.get("/pages/silent")
    async def silent_page() -> HTMLResponse:
        return HTMLResponse(SILENT_PAGE)

    @app.get("/sdk.js")
    async def sdk_bundle() -> Response:
        return Response(SDK_BUNDLE.read_bytes(), media_type="text/javascript")

    @app.api_route("/{path:path}", methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
    async def record(request: Request, path: str) -> Response:
        receiver.requests.append(
            {
                "method": request.method,
                "path": "/" + path,
                "headers": dict(request.headers),
                "body": (await request.body()).decode(),
            }
        )
        return JSONResponse({"ok": True}, status_code=receiver.status)

    server = ServerThread(app, port).start()
    try:
        yield receiver
    finally:
        server.stop()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    receiver_server.requests.clear()
    receiver_server.status = 200
    return receiver_server


@dataclass
class PD:
    """A seeded Pipedrive stand-in and a client talking to it over ASGI."""

    http: httpx2.AsyncClient
    sandbox: Sandbox
    receiver: Receiver

    @property
    def callback(self) -> str:
        return f"{self.receiver.url}/pipedrive/callback"

    async def auto_approve(self, user_id: int | None = None, deny: bool = False) -> None:
        body: dict[str, Any] = {"deny": True} if deny else {"user_id": user_id}
        response = await self.http.post("/_sandbox/pipedrive/auto-approve", json=body)
        assert response.status_code == 200, response.text

    async def code(self, user_id: int = 101, state: str | None = "st-1") -> str:
        await self.auto_approve(user_id)
        params = {"client_id": CLIENT_ID, "redirect_uri": self.callback}
        if state:
            params["state"] = state
        response = await self.http.get("/pipedrive/oauth/oauth/authorize", params=params)
        assert response.status_code == 302, response.text
        query = parse_qs(urlparse(response.headers["location"]).query)
        return query["code"][0]

    async def exchange(self, code: str, **overrides: Any) -> httpx2.Response:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.callback}
        form.update(overrides)
        return await self.http.post(
            "/pipedrive/oauth/oauth/token", data=form, headers={"Authorization": basic()}
        )

    async def install(self, user_id: int = 101) -> dict[str, Any]:
        """Approve as `user_id` and exchange the code: the token response."""
        response = await self.exchange(await self.code(user_id))
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def get(self, url: str, token: str, **params: Any) -> httpx2.Response:
        return await self.http.get(
            url, params=params or None, headers={"Authorization": f"Bearer {token}"}
        )

    async def advance(self, seconds: float) -> None:
        response = await self.http.post("/_sandbox/clock/advance", json={"seconds": seconds})
        assert response.status_code == 200


def make_settings(
    receiver: Receiver, public_url: str = PUBLIC, **overrides: Any
) -> SandboxSettings:
    settings = SandboxSettings(
        public_url=public_url,
        db_path=":memory:",
        app_url=receiver.url,
        pipedrive_client=Client(CLIENT_ID, CLIENT_SECRET, (f"{receiver.url}/pipedrive/callback",)),
        pipedrive_jwt_secret=JWT_SECRET,
        pipedrive_webhook_url=f"{receiver.url}/webhooks/pipedrive",
        pipedrive_webhook_user="hook-user",
        pipedrive_webhook_password="hook-pass",
        webhook_retry_delays=(0.05, 0.1),
    )
    return replace(settings, **overrides)


@pytest.fixture
async def pd(receiver: Receiver) -> AsyncIterator[PD]:
    app = create_sandbox_app(make_settings(receiver), reset=True, seed="demo")
    sandbox: Sandbox = app.state.sandbox
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        try:
            yield PD(http, sandbox, receiver)
        finally:
            await sandbox.webhooks.drain(timeout=2)
            await sandbox.http.aclose()
            sandbox.store.close()


@pytest.fixture
async def northwind(pd: PD) -> str:
    """An access token of Nora Admin (101) at Northwind (7001)."""
    token: str = (await pd.install(101))["access_token"]
    return token
