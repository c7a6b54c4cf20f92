"""The API gateway in front of /xero/api: bearer token, tenant header, scopes, rate limits,
concurrency and Idempotency-Key replays, in the order a caller meets them at Xero."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sandbox.faults import ASGIApp, Message, Receive, Scope, Send
from sandbox.xero.errors import problem
from sandbox.xero.state import XeroState

API_PREFIX = "/xero/api/"
ACCOUNTING_PREFIX = "/xero/api/api.xro/2.0/"

# Resource -> scope families accepted (xero.md section 2, per-operation scopes). Granular
# scopes are accepted alongside the broad ones; the granular mapping is UNCONFIRMED.
SCOPES: dict[str, tuple[str, ...]] = {
    "invoices": ("accounting.transactions", "accounting.invoices"),
    "creditnotes": ("accounting.transactions", "accounting.invoices"),
    "repeatinginvoices": ("accounting.transactions", "accounting.invoices"),
    "contacts": ("accounting.contacts",),
    "items": ("accounting.settings", "accounting.invoices", "accounting.transactions"),
}
SETTINGS_SCOPES = ("accounting.settings",)
IDEMPOTENCY_MAX = 128


# Xero's resource names are case-insensitive (`/invoices` works like `/Invoices`).
CANONICAL = {
    name.lower(): name
    for name in (
        "Organisation",
        "Users",
        "Currencies",
        "TaxRates",
        "Accounts",
        "BrandingThemes",
        "Items",
        "Contacts",
        "Invoices",
        "CreditNotes",
        "Allocations",
        "RepeatingInvoices",
        "Email",
        "OnlineInvoice",
        "pdf",
    )
}


def canonical_path(path: str) -> str:
    parts = path[len(ACCOUNTING_PREFIX) :].split("/")
    for index in (0, 2):  # the resource, and an action after an id (/Invoices/{id}/Email)
        if index < len(parts):
            parts[index] = CANONICAL.get(parts[index].lower(), parts[index])
    return ACCOUNTING_PREFIX + "/".join(parts)


def _allowed(scopes: list[str], resource: str, method: str) -> bool:
    families = SCOPES.get(resource, SETTINGS_SCOPES)
    reading = method in ("GET", "HEAD")
    return any(f in scopes or (reading and f"{f}.read" in scopes) for f in families)


class XeroGate:
    def __init__(self, app: ASGIApp, state: XeroState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        record = self.state.grants.access(token) if token else None
        if record is None:
            await _json(
                send,
                401,
                problem(401, "Unauthorized", "AuthorizationUnsuccessful"),
                {"www-authenticate": 'Bearer error="invalid_token"'},
            )
            return
        grant = self.state.grants.grant(record["grant_id"]) or {}
        context: dict[str, Any] = {
            "user_id": grant.get("user_id"),
            "grant_id": record["grant_id"],
            "client_id": grant.get("client_id"),
            "auth_event_id": grant.get("auth_event_id"),
            "scopes": grant.get("scopes", []),
        }
        scope.setdefault("state", {})["xero"] = context
        if not scope["path"].startswith(ACCOUNTING_PREFIX):
            # /connections: identity API, no tenant and no accounting limits.
            await self.app(scope, receive, send)
            return
        tenant_id = headers.get("xero-tenant-id", "").strip().lower()
        if not tenant_id or not self._connected(context, tenant_id):
            await _json(send, 403, problem(403, "Forbidden", "AuthenticationUnsuccessful"))
            return
        context["tenant_id"] = tenant_id
        scope["path"] = canonical_path(scope["path"])
        resource = scope["path"][len(ACCOUNTING_PREFIX) :].split("/")[0].lower()
        if not _allowed(context["scopes"], resource, scope["method"]):
            # Xero answers a missing scope like a bad token: 401 AuthorizationUnsuccessful.
            await _json(send, 401, problem(401, "Unauthorized", "AuthorizationUnsuccessful"))
            return
        await self._limited(scope, receive, send, tenant_id, headers)

    def _connected(self, context: dict[str, Any], tenant_id: str) -> bool:
        for conn in self.state.store.all("xero:connection", scope=context["user_id"] or ""):
            if conn["tenantId"] == tenant_id and conn["_client_id"] == context["client_id"]:
                return True
        return False

    async def _limited(
        self, scope: Scope, receive: Receive, send: Send, tenant: str, headers: dict[str, str]
    ) -> None:
        state = self.state
        async with state.concurrency.enter(tenant) as admitted:
            if not admitted:
                # X-Rate-Limit-Problem value for concurrency is UNCONFIRMED (xero.md 15).
                await self._too_many(send, tenant, "concurrent", 1)
                return
            ok_day, _, day_reset = state.day.hit(tenant)
            if not ok_day:
                await self._too_many(send, tenant, "day", day_reset)
                return
            ok_min, _, min_reset = state.minute.hit(tenant)
            if not ok_min:
                await self._too_many(send, tenant, "minute", min_reset)
                return
            ok_app, _, app_reset = state.app_minute.hit("app")
            if not ok_app:
                await self._too_many(send, tenant, "appminute", app_reset)
                return
            if state.latency_ms:
                await asyncio.sleep(state.latency_ms / 1000)
            limit_headers = self._limit_headers(tenant)

            async def send_with_limits(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = dict(message)
                    message["headers"] = list(message.get("headers", [])) + limit_headers
                await send(message)

            key = headers.get("idempotency-key")
            if key is not None and scope["method"] in ("PUT", "POST", "PATCH"):
                await self._idempotent(scope, receive, send_with_limits, tenant, key)
            else:
                await self.app(scope, receive, send_with_limits)

    def _limit_headers(self, tenant: str) -> list[tuple[bytes, bytes]]:
        state = self.state
        return [
            (b"x-daylimit-remaining", str(state.day.remaining(tenant)).encode()),
            (b"x-minlimit-remaining", str(state.minute.remaining(tenant)).encode()),
            (b"x-appminlimit-remaining", str(state.app_minute.remaining("app")).encode()),
        ]

    async def _too_many(self, send: Send, tenant: str, problem_name: str, retry: int) -> None:
        extra = {
            "retry-after": str(max(retry, 1)),
            "x-rate-limit-problem": problem_name,
        }
        for name, value in self._limit_headers(tenant):
            extra[name.decode()] = value.decode()
        await _json(send, 429, problem(429, "Too Many Requests", "TooManyRequests"), extra)

    async def _idempotent(
        self, scope: Scope, receive: Receive, send: Send, tenant: str, key: str
    ) -> None:
        if len(key) > IDEMPOTENCY_MAX:
            # The spec caps the key at 128 characters; the refusal's wording is UNCONFIRMED.
            body = {
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": "A validation exception occurred",
                "Elements": [
                    {
                        "ValidationErrors": [
                            {"Message": "Idempotency-Key must be 128 characters or fewer"}
                        ]
                    }
                ],
            }
            await _json(send, 400, body)
            return
        store_key = f"{tenant}:{key}"
        lock = self.state.idem_locks.setdefault(store_key, asyncio.Lock())
        async with lock:
            saved = self.state.store.get("xero:idem", store_key)
            if saved is not None:
                # Replays the first answer, whatever this request's body says (the conflict
                # behaviour for a different body is UNCONFIRMED).
                headers = [(k.encode(), v.encode()) for k, v in saved["headers"]]
                headers.append((b"idempotent-replayed", b"true"))
                await send(
                    {"type": "http.response.start", "status": saved["status"], "headers": headers}
                )
                await send({"type": "http.response.body", "body": saved["body"].encode()})
                return
            captured: dict[str, Any] = {"status": 0, "headers": [], "body": b""}

            async def capture(message: Message) -> None:
                if message["type"] == "http.response.start":
                    captured["status"] = message["status"]
                    captured["headers"] = [
                        (k.decode(), v.decode())
                        for k, v in message.get("headers", [])
                        if k.lower() in (b"content-type",)
                    ]
                elif message["type"] == "http.response.body":
                    captured["body"] += message.get("body", b"")
                await send(message)

            await self.app(scope, receive, capture)
            if 0 < captured["status"] < 500:
                self.state.store.put(
                    "xero:idem",
                    store_key,
                    {
                        "status": captured["status"],
                        "headers": captured["headers"],
                        "body": captured["body"].decode("utf-8", "replace"),
                    },
                    scope=tenant,
                )


async def _json(
    send: Send, status: int, body: dict[str, Any], extra: dict[str, str] | None = None
) -> None:
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
