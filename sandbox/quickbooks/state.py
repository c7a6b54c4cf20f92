"""Per-realm entity storage on the sandbox Store, with QBO's Id, SyncToken and MetaData rules."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.clock import Clock
from sandbox.limits import ConcurrencyGate, FixedWindow
from sandbox.quickbooks import errors
from sandbox.quickbooks.clocktime import qbo_time
from sandbox.store import Store

if TYPE_CHECKING:
    from sandbox.app import Sandbox
    from sandbox.quickbooks.oauth import OAuthState

# Entities reachable at /v3/company/{realm}/<path>, path -> canonical name.
ENTITIES = {
    "customer": "Customer",
    "item": "Item",
    "account": "Account",
    "taxcode": "TaxCode",
    "taxrate": "TaxRate",
    "term": "Term",
    "invoice": "Invoice",
    "payment": "Payment",
    "creditmemo": "CreditMemo",
}
CANONICAL = {name.lower(): name for name in ENTITIES.values()}


@dataclass
class Event:
    entity: str
    entity_id: str
    operation: str  # Create | Update | Delete | Void
    at: datetime


@dataclass
class Books:
    """One realm's data. Writes record events that the caller turns into webhooks."""

    store: Store
    clock: Clock
    realm: str
    public_url: str = ""
    events: list[Event] = field(default_factory=list)

    def realm_doc(self) -> dict[str, Any] | None:
        return self.store.get("qbo:realm", self.realm)

    def _key(self, entity_id: str) -> str:
        return f"{self.realm}:{entity_id}"

    def get(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        return self.store.get(f"qbo:{entity}", self._key(str(entity_id)))

    def require(self, entity: str, entity_id: str) -> dict[str, Any]:
        doc = self.get(entity, entity_id)
        if doc is None:
            raise errors.not_found(entity, entity_id)
        return doc

    def all(self, entity: str) -> list[dict[str, Any]]:
        return self.store.all(f"qbo:{entity}", self.realm)

    def _stamp(self, doc: dict[str, Any], *, created: bool) -> None:
        now = qbo_time(self.clock.now())
        meta = doc.setdefault("MetaData", {})
        if created:
            meta["CreateTime"] = now
        meta["LastUpdatedTime"] = now

    def insert(
        self, entity: str, doc: dict[str, Any], *, entity_id: str | None = None
    ) -> dict[str, Any]:
        """Create with the next Id of this realm and entity (or a fixed one: TAX, NON)."""
        entity_id = entity_id or str(self.store.next_seq(f"qbo:{self.realm}:{entity}"))
        doc = dict(doc, Id=entity_id, SyncToken="0", domain="QBO", sparse=False)
        self._stamp(doc, created=True)
        self.store.put(f"qbo:{entity}", self._key(entity_id), doc, scope=self.realm)
        self.events.append(Event(entity, entity_id, "Create", self.clock.now()))
        return doc

    def save(self, entity: str, doc: dict[str, Any], operation: str = "Update") -> dict[str, Any]:
        """Store a changed entity: SyncToken + 1, LastUpdatedTime now."""
        doc["SyncToken"] = str(int(doc.get("SyncToken", "0")) + 1)
        self._stamp(doc, created=False)
        self.store.put(f"qbo:{entity}", self._key(doc["Id"]), doc, scope=self.realm)
        self.events.append(Event(entity, doc["Id"], operation, self.clock.now()))
        return doc

    def delete(self, entity: str, doc: dict[str, Any]) -> None:
        """Remove an entity; a tombstone keeps it visible to CDC as status Deleted."""
        self.store.delete(f"qbo:{entity}", self._key(doc["Id"]))
        tombstone = {
            "Id": doc["Id"],
            "domain": "QBO",
            "status": "Deleted",
            "MetaData": {"LastUpdatedTime": qbo_time(self.clock.now())},
            "_at": self.clock.timestamp(),
            "_entity": entity,
            "_snapshot": doc,
        }
        self.store.put(
            "qbo:deleted", f"{self.realm}:{entity}:{doc['Id']}", tombstone, scope=self.realm
        )
        self.events.append(Event(entity, doc["Id"], "Delete", self.clock.now()))

    def deleted(self, entity: str) -> list[dict[str, Any]]:
        return [d for d in self.store.all("qbo:deleted", self.realm) if d.get("_entity") == entity]


def check_sync_token(doc: dict[str, Any], body: dict[str, Any]) -> None:
    """Writes need the current SyncToken (quickbooks.md §3.1, §15.2)."""
    sent = body.get("SyncToken")
    if sent is None or sent == "":
        raise errors.required("SyncToken")
    if str(sent) != str(doc.get("SyncToken")):
        raise errors.stale_object(doc["Id"], str(sent), str(doc.get("SyncToken")))


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The wire form: internal keys (leading underscore) removed."""
    return {k: copy.deepcopy(v) for k, v in doc.items() if not k.startswith("_")}


def ref_value(ref: Any) -> str | None:
    if isinstance(ref, dict):
        value = ref.get("value")
        return None if value is None else str(value)
    return None


def money(value: Any, element: str) -> Decimal:
    """A JSON number (or numeric string) as Decimal; QBO rejects anything else."""
    if isinstance(value, bool) or value is None:
        raise errors.invalid_property(f"Invalid number for {element}", element)
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise errors.invalid_property(f"Invalid number for {element}: {value!r}", element) from None


def num(value: Decimal) -> float | int:
    """Decimal to the JSON number QBO prints (2.0 -> 2, 349.95 -> 349.95)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


class ApiState:
    """The per-realm limits (quickbooks.md §12) and a test knob for server-side latency."""

    def __init__(self, sandbox: Sandbox, oauth: OAuthState) -> None:
        self.sandbox = sandbox
        self.oauth = oauth
        self.minute = FixedWindow(sandbox.clock, 500, 60)
        # 10 requests a second per realm and app (§12), counted in whole seconds of the
        # sandbox clock.
        self.second = FixedWindow(sandbox.clock, 10, 1)
        self.gate = ConcurrencyGate(10)
        # Seconds each API call spends "working" inside the concurrency gate, so that tests
        # and demos can observe the 10-concurrent limit (0 in normal use).
        self.processing_seconds = 0.0

    def reset(self) -> None:
        self.minute.reset()
        self.second.reset()
        self.gate.reset()
        self.processing_seconds = 0.0
