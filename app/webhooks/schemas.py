"""The inbox's neutral shape of an event, whichever service sent it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Inbound:
    """One event as parsed from a verified delivery, before its tenant is resolved."""

    source: str
    tenant_id: str
    category: str
    action: str
    resource_id: str
    occurred_at: datetime | None
    dedupe_key: str
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def stored_key(self) -> str:
        """The dedupe key, hashed when it would not fit its column."""
        key = self.dedupe_key
        return key if len(key) <= 255 else hashlib.sha256(key.encode()).hexdigest()


class EventOut(BaseModel):
    """A received event as support sees it (ids and outcome, no customer data)."""

    id: str
    source: str
    category: str
    action: str
    resource_id: str
    occurred_at: datetime | None
    received_at: datetime
    status: str
    outcome: str
    processed_at: datetime | None


class JobOut(BaseModel):
    """A background job as support sees it: what it is, where it stands, its last error."""

    id: str
    name: str
    status: str
    attempts: int
    max_attempts: int
    run_after: datetime
    last_error: str
    created_at: datetime
    finished_at: datetime | None


class Receipt(BaseModel):
    received: int
    stored: int
    duplicates: int
    dropped: int
