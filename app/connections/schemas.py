"""What the connections API answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ConnectionOut(BaseModel):
    """One provider's connection state for the company; ``status`` is ``not_connected`` when
    the company never connected it (then only ``provider`` and ``connect_url`` are set)."""

    provider: str
    provider_label: str
    status: str
    status_reason: str = ""
    tenant_id: str | None = None
    organisation_name: str | None = None
    base_currency: str | None = None
    short_code: str | None = None
    timezone: str | None = None
    connected_by: str | None = None
    connected_by_user_id: str | None = None
    connected_at: datetime | None = None
    disconnected_at: datetime | None = None
    provider_role: str | None = None
    expires_at: datetime | None = None
    # Set within 30 days of the refresh token's hard cap (QuickBooks): reconnect before then.
    renew_by: datetime | None = None
    connect_url: str
    # Sync health (status sync): the last complete catch-up, how far behind it is, the last
    # error since, and webhook events received but not processed yet.
    last_sync_at: datetime | None = None
    synced_until: datetime | None = None
    sync_lag_seconds: float | None = None
    last_sync_error: str = ""
    last_sync_error_at: datetime | None = None
    events_waiting: int = 0


class DisconnectOut(BaseModel):
    provider: str
    status: str
    revoked_at_provider: bool
