"""The Xero stand-in's live state: OAuth grants, signing key, limits, auto-approval, switches.

Durable data (organisations, contacts, invoices, tokens) lives in the shared Store; this object
holds what only makes sense while the process runs (rate windows, in-flight counts, locks).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from joserfc.jwk import RSAKey

from sandbox.limits import ConcurrencyGate, FixedWindow
from sandbox.oauth import Grants

if TYPE_CHECKING:
    from sandbox.app import Sandbox

PROVIDER = "xero"
PROVIDER_NAME = "CRM Invoicing (sandbox)"

# Real limits (xero.md section 15).
MINUTE_LIMIT = 60
DAY_LIMIT = 5000
APP_MINUTE_LIMIT = 10_000
CONCURRENT_LIMIT = 5

ACCESS_TTL = 1800
REFRESH_TTL = 60 * 24 * 3600
REFRESH_GRACE = 1800

KNOWN_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "paymentservices",
        "accounting.reports.read",
        "accounting.journals.read",
        "accounting.budgets.read",
        *(
            f"accounting.{family}{suffix}"
            for family in (
                "transactions",
                "contacts",
                "settings",
                "attachments",
                "invoices",
                "payments",
                "banktransactions",
                "manualjournals",
            )
            for suffix in ("", ".read")
        ),
    }
)
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)


def new_id() -> str:
    return str(uuid.uuid4())


def stable_id(name: str) -> str:
    """Deterministic ids for seeded records, so tests and links may rely on them."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-xero:{name}"))


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def msdate(value: int | str | None) -> str | None:
    """MS-JSON date: epoch milliseconds, or an ISO date (midnight UTC) -> "/Date(ms+0000)/"."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        day = date.fromisoformat(value[:10])
        value = ms(datetime(day.year, day.month, day.day, tzinfo=UTC))
    return f"/Date({value}+0000)/"


def envelope_time(moment: datetime) -> str:
    return f"/Date({ms(moment)})/"


class EventSink(Protocol):
    """Where writes report their events (webhooks.EventBatcher); None while seeding."""

    def add(self, tenant_id: str, category: str, event_type: str, resource_id: str) -> None: ...

    def flush(self) -> None: ...

    def reset(self) -> None: ...


@dataclass
class AutoApprove:
    """Armed by the control API: authorize requests redirect at once with this decision."""

    email: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    deny: bool = False
    remaining: int | None = None


class XeroState:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        self.clock = sandbox.clock
        self.grants = Grants(sandbox.store, sandbox.clock, PROVIDER)
        # Made at start-up, like a real identity server's signing key; published as JWKS.
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8)})
        self.minute = FixedWindow(sandbox.clock, MINUTE_LIMIT, 60)
        self.day = FixedWindow(sandbox.clock, DAY_LIMIT, 86400)
        self.app_minute = FixedWindow(sandbox.clock, APP_MINUTE_LIMIT, 60)
        self.concurrency = ConcurrencyGate(CONCURRENT_LIMIT)
        self.auto: AutoApprove | None = None
        # Simulated processing time inside the limits (control API): makes concurrency visible.
        self.latency_ms = 0
        self.idem_locks: dict[str, asyncio.Lock] = {}
        self.batcher: EventSink | None = None

    @property
    def base(self) -> str:
        return self.sandbox.settings.public_url.rstrip("/") + "/xero"

    @property
    def issuer(self) -> str:
        return f"{self.base}/identity"

    def api_url(self, path: str) -> str:
        return f"{self.base}/api/api.xro/2.0/{path.lstrip('/')}"

    def now(self) -> datetime:
        return self.clock.now()

    def now_ms(self) -> int:
        return ms(self.clock.now())

    def reset(self) -> None:
        self.minute.reset()
        self.day.reset()
        self.app_minute.reset()
        self.concurrency.reset()
        self.auto = None
        self.latency_ms = 0
        self.idem_locks.clear()
        if self.batcher is not None:
            self.batcher.reset()

    # Reference data shared by several modules.
    def org(self, tenant_id: str) -> dict[str, Any] | None:
        return self.store.get("xero:org", tenant_id)

    def orgs(self) -> list[dict[str, Any]]:
        return self.store.all("xero:org")

    def users(self) -> list[dict[str, Any]]:
        return self.store.all("xero:user")

    def user(self, user_id: str) -> dict[str, Any] | None:
        return self.store.get("xero:user", user_id)
