"""Outgoing Xero webhooks (xero.md section 14): metadata-only events, batched, with increasing
sequences, signed `x-xero-signature` = base64(HMAC-SHA256(webhook key, raw body)); and the
intent-to-receive handshake."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import string
from typing import Any

import httpx2

from sandbox.xero.state import XeroState

# Events raised within this many seconds travel together, as Xero batches them.
BATCH_WINDOW_SECONDS = 0.2
CATEGORY_PATH = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}


def sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def entropy() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20))


class EventBatcher:
    def __init__(self, state: XeroState, window: float = BATCH_WINDOW_SECONDS) -> None:
        self.state = state
        self.window = window
        self.pending: list[dict[str, Any]] = []
        self._flush: asyncio.TimerHandle | None = None

    def add(self, tenant_id: str, category: str, event_type: str, resource_id: str) -> None:
        """Queue one event; the batch goes out `window` seconds after its first event."""
        now = self.state.now()
        self.pending.append(
            {
                "resourceUrl": self.state.api_url(f"{CATEGORY_PATH[category]}/{resource_id}"),
                "resourceId": resource_id,
                "eventDateUtc": f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}",
                "eventType": event_type,
                "eventCategory": category,
                "tenantId": tenant_id,
                "tenantType": "ORGANISATION",
            }
        )
        if self._flush is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                # Raised outside a request (e.g. seeding): nothing to notify yet.
                self.pending.clear()
                return
            self._flush = loop.call_later(self.window, self.flush)

    def flush(self) -> None:
        self._flush = None
        events, self.pending = self.pending, []
        if not events:
            return
        store = self.state.store
        # One sequence number per event, increasing across batches (and restarts).
        numbers = [store.next_seq("xero:webhook-seq") for _ in events]
        first, last = numbers[0], numbers[-1]
        body = json.dumps(
            {
                "events": events,
                "firstEventSequence": first,
                "lastEventSequence": last,
                "entropy": entropy(),
            },
            separators=(",", ":"),
        ).encode()
        settings = self.state.sandbox.settings
        headers = {
            "content-type": "application/json",
            "x-xero-signature": sign(settings.xero_webhook_key, body),
        }
        self.state.sandbox.webhooks.send("xero", settings.xero_webhook_url, body, headers)

    def reset(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self.pending.clear()


async def intent_to_receive(
    state: XeroState, http: httpx2.AsyncClient, url: str, rounds: int = 2
) -> dict[str, Any]:
    """Xero's handshake: empty batches, some correctly signed (expect 200, empty body) and
    some not (expect 401). Returns each attempt and whether the target passed."""
    key = state.sandbox.settings.xero_webhook_key
    attempts: list[dict[str, Any]] = []
    plan = [True, False] * rounds
    secrets.SystemRandom().shuffle(plan)
    for correctly_signed in plan:
        body = json.dumps(
            {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": entropy()},
            separators=(",", ":"),
        ).encode()
        signature = sign(key, body) if correctly_signed else sign(key + "-wrong", body)
        expected = 200 if correctly_signed else 401
        attempt: dict[str, Any] = {"signed_correctly": correctly_signed, "expected": expected}
        try:
            response = await http.post(
                url,
                content=body,
                headers={"content-type": "application/json", "x-xero-signature": signature},
                timeout=5.0,
            )
            attempt["status"] = response.status_code
            attempt["body_empty"] = not response.content
            attempt["ok"] = response.status_code == expected
        except httpx2.HTTPError as exc:
            attempt.update(status=None, error=type(exc).__name__, ok=False)
        attempts.append(attempt)
    return {"url": url, "passed": all(a["ok"] for a in attempts), "attempts": attempts}
