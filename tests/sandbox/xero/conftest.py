"""Fixtures for the Xero stand-in: an in-memory sandbox over ASGI whose every Xero exchange is
checked against the official OpenAPI spec, a webhook receiver, and a connected client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from sandbox.app import Sandbox, create_sandbox_app
from sandbox.config import SandboxSettings
from sandbox.oauth import Client
from tests.sandbox.xero.contract import ContractRecorder
from tests.support.sandbox import SandboxControl

CLIENT_ID = "xero-test-client"
CLIENT_SECRET = "xero-test-secret"
REDIRECT_URI = "http://app.test/connections/xero/callback"
WEBHOOK_URL = "http://app.test/webhooks/xero"
WEBHOOK_KEY = "test-webhook-key"
NZ = "b1f3c0de-0000-4000-8000-000000000001"
AU = "b1f3c0de-0000-4000-8000-000000000002"
SCOPES = (
    "openid profile email offline_access accounting.transactions accounting.contacts "
    "accounting.settings"
)
BASE = "http://sandbox.test"
API = "/xero/api/api.xro/2.0"


@dataclass
class Inbox:
    """Webhook deliveries received by the fake product; `status` is what it answers."""

    received: list[httpx2.Request] = field(default_factory=list)
    status: int = 200
    # When set, answer like a correct receiver: 401 unless the signature matches this key.
    verify_key: str | None = None

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.received.append(request)
        if self.verify_key is not None:
            expected = base64.b64encode(
                hmac.new(self.verify_key.encode(), request.content, hashlib.sha256).digest()
            ).decode()
            if not hmac.compare_digest(expected, request.headers.get("x-xero-signature", "")):
                return httpx2.Response(401)
        return httpx2.Response(self.status)

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.received]


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


class Deliveries:
    """Reads the stand-in's webhook log; each call returns the events sent since the last."""

    def __init__(self, http: httpx2.AsyncClient, sandbox: Sandbox, inbox: Inbox) -> None:
        self.http = http
        self.control = SandboxControl(http)
        self.sandbox = sandbox
        self.inbox = inbox
        self.seen = 0

    async def new_events(self) -> list[tuple[str, str, str]]:
        """(category, type, resource id) of the events delivered since the previous call."""
        await self.http.post("/_sandbox/xero/webhooks/flush")
        await self.sandbox.webhooks.drain(timeout=5)
        log = await self.control.webhooks("xero")
        fresh, self.seen = log[self.seen :], len(log)
        events: list[tuple[str, str, str]] = []
        for delivery in fresh:
            raw = delivery["body"].encode()
            expected = base64.b64encode(
                hmac.new(WEBHOOK_KEY.encode(), raw, hashlib.sha256).digest()
            ).decode()
            assert hmac.compare_digest(delivery["headers"]["x-xero-signature"], expected)
            assert delivery["url"] == WEBHOOK_URL and delivery["delivered"] is True
            # What the receiver got is byte for byte what was signed.
            assert any(r.content == raw for r in self.inbox.received)
            for event in json.loads(raw)["events"]:
                assert event["tenantId"] == NZ
                events.append((event["eventCategory"], event["eventType"], event["resourceId"]))
        return events


@pytest.fixture
def deliveries(http: httpx2.AsyncClient, sandbox_state: Sandbox, inbox: Inbox) -> Deliveries:
    return Deliveries(http, sandbox_state, inbox)


@pytest.fixture
def recorder() -> ContractRecorder:
    return ContractRecorder()


@pytest.fixture
def xero_app(inbox: Inbox) -> Any:
    settings = SandboxSettings(
        public_url=BASE,
        db_path=":memory:",
        xero_client=Client(CLIENT_ID, CLIENT_SECRET, (REDIRECT_URI,)),
        xero_webhook_key=WEBHOOK_KEY,
        xero_webhook_url=WEBHOOK_URL,
        webhook_retry_delays=(0.05, 0.1),
    )
    return create_sandbox_app(
        settings, reset=True, seed="demo", transport=httpx2.MockTransport(inbox.handler)
    )


@pytest.fixture
def sandbox_state(xero_app: Any) -> Sandbox:
    sandbox: Sandbox = xero_app.state.sandbox
    return sandbox


@pytest.fixture
async def http(xero_app: Any, recorder: ContractRecorder) -> AsyncIterator[httpx2.AsyncClient]:
    async def check(response: httpx2.Response) -> None:
        await response.aread()
        recorder.check(response.request, response)

    transport = httpx2.ASGITransport(app=xero_app)
    async with httpx2.AsyncClient(
        transport=transport, base_url=BASE, event_hooks={"response": [check]}
    ) as client:
        yield client
    assert not recorder.violations, "\n".join(recorder.violations)


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"authorization": f"Basic {raw}"}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


class Xero:
    """Drives the stand-in like an app would: consent, tokens, API calls."""

    def __init__(self, http: httpx2.AsyncClient) -> None:
        self.http = http
        self.tokens: dict[str, Any] = {}
        self.tenant = NZ

    def authorize_params(self, **extra: str) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPES,
            "state": "st-123",
        }
        params.update(extra)
        return params

    async def code(
        self, email: str = "nora@northwind.test", tenants: list[str] | None = None, **extra: str
    ) -> str:
        armed = await self.http.post(
            "/_sandbox/xero/auto-approve", json={"email": email, "tenant_ids": tenants or []}
        )
        assert armed.status_code == 200, armed.text
        answer = await self.http.get(
            "/xero/login/identity/connect/authorize", params=self.authorize_params(**extra)
        )
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["state"] == ["st-123"]
        return query["code"][0]

    async def exchange(self, code: str, **extra: str) -> httpx2.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        data.update(extra)
        return await self.http.post("/xero/identity/connect/token", data=data, headers=basic())

    async def connect(
        self, email: str = "nora@northwind.test", tenants: list[str] | None = None
    ) -> dict[str, Any]:
        answer = await self.exchange(await self.code(email, tenants))
        assert answer.status_code == 200, answer.text
        self.tokens = answer.json()
        return self.tokens

    async def refresh(self, token: str | None = None) -> httpx2.Response:
        return await self.http.post(
            "/xero/identity/connect/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": token or self.tokens["refresh_token"],
            },
            headers=basic(),
        )

    def headers(self, **extra: str) -> dict[str, str]:
        out = {
            "authorization": f"Bearer {self.tokens['access_token']}",
            "xero-tenant-id": self.tenant,
            "accept": "application/json",
        }
        out.update(extra)
        return out

    async def get(self, path: str, **kw: Any) -> httpx2.Response:
        headers = self.headers(**kw.pop("headers", {}))
        return await self.http.get(API + path, headers=headers, **kw)

    async def put(self, path: str, body: Any, **kw: Any) -> httpx2.Response:
        headers = self.headers(**kw.pop("headers", {}))
        return await self.http.put(API + path, json=body, headers=headers, **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> httpx2.Response:
        headers = self.headers(**kw.pop("headers", {}))
        return await self.http.post(API + path, json=body, headers=headers, **kw)

    async def advance(self, seconds: float) -> None:
        answer = await self.http.post("/_sandbox/clock/advance", json={"seconds": seconds})
        assert answer.status_code == 200

    async def contact_id(self, name: str) -> str:
        answer = await self.get("/Contacts", params={"searchTerm": name})
        return str(next(c["ContactID"] for c in answer.json()["Contacts"] if c["Name"] == name))

    async def create_invoice(self, **fields: Any) -> httpx2.Response:
        invoice: dict[str, Any] = {
            "Type": "ACCREC",
            "Contact": {"ContactID": await self.contact_id("Acme Ltd")},
            "Date": "2026-03-13",
            "DueDate": "2026-03-20",
            "LineItems": [
                {
                    "Description": "Consulting",
                    "Quantity": 2,
                    "UnitAmount": 150,
                    "AccountCode": "200",
                    "TaxType": "OUTPUT2",
                }
            ],
        }
        invoice.update(fields)
        invoice = {k: v for k, v in invoice.items() if v is not None}
        return await self.put(
            "/Invoices", {"Invoices": [invoice]}, params={"summarizeErrors": "false"}
        )


@pytest.fixture
async def xero(http: httpx2.AsyncClient) -> Xero:
    client = Xero(http)
    await client.connect()
    return client
