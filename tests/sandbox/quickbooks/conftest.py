"""A QuickBooks stand-in per test: in-memory state, demo seed, webhooks captured in memory."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
import pytest
from fastapi import FastAPI

from sandbox.app import create_sandbox_app, sandbox_of
from sandbox.config import SandboxSettings
from sandbox.oauth import Client
from tests.support.sandbox import SandboxControl

BASE = "http://sandbox.test"
REDIRECT = "http://app.test/connections/quickbooks/callback"
CLIENT = Client("qbo-client", "qbo-secret", (REDIRECT,))
REALM = "9130350000000001"
API = f"/quickbooks/api/v3/company/{REALM}"
TOKEN_URL = "/quickbooks/oauth/oauth2/v1/tokens/bearer"
AUTHORIZE_URL = "/quickbooks/appcenter/connect/oauth2"
VERIFIER = "qbo-verifier-token"
WEBHOOK_URL = "http://app.test/webhooks/quickbooks"
SCOPE = "com.intuit.quickbooks.accounting openid profile email"


def basic(client_id: str = CLIENT.client_id, secret: str = CLIENT.client_secret) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class Qbo:
    http: httpx2.AsyncClient
    app: FastAPI
    hooks: list[httpx2.Request]
    token: str = ""
    refresh_token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sandbox(self) -> Any:
        return sandbox_of(self.app)

    async def authorize(self, **params: str) -> httpx2.Response:
        query = {
            "client_id": CLIENT.client_id,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": REDIRECT,
            "state": "st-1",
        }
        query.update(params)
        return await self.http.get(AUTHORIZE_URL, params=query)

    async def code(self) -> str:
        await self.http.post("/_sandbox/quickbooks/auto-approve", json={"realm_id": REALM})
        response = await self.authorize()
        assert response.status_code == 302, response.text
        return parse_qs(urlparse(response.headers["location"]).query)["code"][0]

    async def exchange(self, code: str, **form: str) -> httpx2.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        data.update(form)
        return await self.http.post(TOKEN_URL, data=data, headers={"Authorization": basic()})

    async def connect(self) -> Qbo:
        response = await self.exchange(await self.code())
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        self.refresh_token = response.json()["refresh_token"]
        return self

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    async def get(self, path: str, **params: Any) -> httpx2.Response:
        return await self.http.get(API + path, params=params, headers=self.auth())

    async def post(self, path: str, body: Any = None, **params: Any) -> httpx2.Response:
        return await self.http.post(API + path, json=body, params=params, headers=self.auth())

    async def query(self, text: str) -> httpx2.Response:
        return await self.get("/query", query=text)

    async def advance(self, seconds: float) -> None:
        response = await self.http.post("/_sandbox/clock/advance", json={"seconds": seconds})
        response.raise_for_status()

    async def drain(self) -> None:
        await self.sandbox.webhooks.drain(timeout=5)


class Deliveries:
    """Reads the stand-in's webhook log; each call returns the events sent since the last,
    after checking each delivery's `intuit-signature` over its raw body."""

    def __init__(self, qbo: Qbo) -> None:
        self.qbo = qbo
        self.control = SandboxControl(qbo.http)
        self.seen = 0

    async def new_events(self) -> list[tuple[str, str, str]]:
        """(entity, operation, id) per event; both notification shapes read alike."""
        await self.qbo.drain()
        log = await self.control.webhooks("quickbooks")
        fresh, self.seen = log[self.seen :], len(log)
        events: list[tuple[str, str, str]] = []
        for delivery in fresh:
            raw = delivery["body"].encode()
            expected = base64.b64encode(
                hmac.new(VERIFIER.encode(), raw, hashlib.sha256).digest()
            ).decode()
            assert hmac.compare_digest(delivery["headers"]["intuit-signature"], expected)
            assert delivery["url"] == WEBHOOK_URL and delivery["delivered"] is True
            assert any(r.content == raw for r in self.qbo.hooks)
            events += _events(json.loads(raw))
        return events


def _events(body: Any) -> list[tuple[str, str, str]]:
    if isinstance(body, list):  # CloudEvents: qbo.<entity>.<verb>.v1
        out = []
        for event in body:
            assert event["intuitaccountid"] == REALM
            _, entity, verb, _ = event["type"].split(".")
            out.append((entity, verb, event["intuitentityid"]))
        return out
    notification = body["eventNotifications"][0]
    assert notification["realmId"] == REALM
    return [
        (e["name"], e["operation"], e["id"]) for e in notification["dataChangeEvent"]["entities"]
    ]


def fault(response: httpx2.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["Fault"]["Error"][0]
    error["type"] = response.json()["Fault"]["type"]
    return error


def invoice_body(**overrides: Any) -> dict[str, Any]:
    """Globex (customer 1, USD): 2 x Consulting hour (item 1) at 150, taxable."""
    body: dict[str, Any] = {
        "CustomerRef": {"value": "1"},
        "Line": [
            {
                "Amount": 300,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "1"},
                    "Qty": 2,
                    "UnitPrice": 150,
                    "TaxCodeRef": {"value": "TAX"},
                },
            }
        ],
    }
    body.update(overrides)
    return body


def make_app(hooks: list[httpx2.Request], status: int = 200) -> FastAPI:
    def deliver(request: httpx2.Request) -> httpx2.Response:
        hooks.append(request)
        return httpx2.Response(status)

    settings = SandboxSettings(
        db_path=":memory:",
        public_url=BASE,
        quickbooks_client=CLIENT,
        quickbooks_verifier_token=VERIFIER,
        quickbooks_webhook_url=WEBHOOK_URL,
        webhook_retry_delays=(0.01, 0.02),
    )
    return create_sandbox_app(
        settings, reset=True, seed="demo", transport=httpx2.MockTransport(deliver)
    )


@pytest.fixture
async def qbo() -> AsyncIterator[Qbo]:
    hooks: list[httpx2.Request] = []
    app = make_app(hooks)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE) as http:
        yield Qbo(http, app, hooks)
        await sandbox_of(app).webhooks.drain(timeout=2)


@pytest.fixture
async def api(qbo: Qbo) -> Qbo:
    """Connected: a live access token for the demo realm."""
    return await qbo.connect()
