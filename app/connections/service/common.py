"""Small pieces the connect and manage use cases share."""

from __future__ import annotations

from datetime import datetime

from app.connections.models import (
    ConnectionStatus,
    Provider,
    ProviderConnection,
)
from app.errors import NotFound
from app.providers import display_name

STATE_PURPOSE = "connection-state"
PICK_PURPOSE = "connection-pick"
STATE_TTL_SECONDS = 600
#: Xero roles that may connect: they can create and approve invoices. Pipedrive's own Xero
#: integration allows the same two ("advisor and standard user roles").
ALLOWED_XERO_ROLES = ("STANDARD", "FINANCIALADVISER")
ROLE_LABELS = {
    "READONLY": "Read only",
    "INVOICEONLY": "Invoice only",
    "STANDARD": "Standard",
    "FINANCIALADVISER": "Adviser",
    "MANAGEDCLIENT": "Managed client",
    "CASHBOOKCLIENT": "Cashbook client",
    "REMOVED": "Removed",
    "UNKNOWN": "Unknown",
}


def provider_label(provider: str) -> str:
    return display_name(provider)


def parse_provider(value: str) -> Provider:
    try:
        return Provider(value)
    except ValueError as exc:
        raise NotFound(f"unknown provider '{value}': use xero or quickbooks") from exc


def retire(row: ProviderConnection, now: datetime) -> None:
    """Make the row history: status disconnected, tokens gone."""
    row.status = ConnectionStatus.disconnected.value
    row.disconnected_at = now
    row.access_token = None
    row.refresh_token = None
    row.previous_refresh_token = None
    row.refresh_lease_until = None
    row.token_version = row.token_version + 1
