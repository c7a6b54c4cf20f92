"""Accounting connections: one company's link to its Xero organisation or QuickBooks company."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, new_uuid, utcnow
from app.kit.crypto import EncryptedString
from app.tenants import models as _tenants  # noqa: F401 - the tables our foreign keys name

# How long before a refresh token's hard cap admins are told to reconnect.
RENEW_WARNING_DAYS = 30


class Provider(StrEnum):
    xero = "xero"
    quickbooks = "quickbooks"


class ConnectionStatus(StrEnum):
    active = "active"
    needs_reauth = "needs_reauth"
    disconnected = "disconnected"


class ProviderConnection(TimestampMixin, Base):
    """A company's connection to one provider organisation.

    At most one row per (company, provider) is not ``disconnected`` (a partial unique index);
    disconnected rows stay as history so that invoice links keep naming their organisation.
    ``token_version`` grows on every token write: refreshers compare-and-swap on it, so a
    process that read an older token set can tell that another one already rotated it.
    """

    __tablename__ = "provider_connection"
    __table_args__ = (
        Index(
            "uq_provider_connection_live",
            "company_id",
            "provider",
            unique=True,
            sqlite_where=text("status != 'disconnected'"),
            postgresql_where=text("status != 'disconnected'"),
        ),
        Index(
            "uq_provider_connection_live_tenant",
            "provider",
            "tenant_id",
            unique=True,
            sqlite_where=text("status != 'disconnected'"),
            postgresql_where=text("status != 'disconnected'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    # Xero tenantId or QuickBooks realmId.
    tenant_id: Mapped[str] = mapped_column(String(64))
    organisation_name: Mapped[str] = mapped_column(String(255), default="")
    base_currency: Mapped[str] = mapped_column(String(3), default="")
    short_code: Mapped[str | None] = mapped_column(String(32), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(20), default=ConnectionStatus.active.value)
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    connected_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("crm_user.id", ondelete="SET NULL"), default=None
    )
    # Kept as text too: the user may uninstall while the connection lives on.
    connected_by_name: Mapped[str] = mapped_column(String(255), default="")
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    disconnected_at: Mapped[datetime | None] = mapped_column(default=None)
    # The connecting person's identity and role at the provider (Xero OrganisationRole).
    provider_user_email: Mapped[str] = mapped_column(String(320), default="")
    provider_role: Mapped[str] = mapped_column(String(40), default="")
    # Xero: the connection id (for DELETE /connections/{id}) and the consent's authEventId.
    xero_connection_id: Mapped[str | None] = mapped_column(String(64), default=None)
    auth_event_id: Mapped[str | None] = mapped_column(String(64), default=None)
    scopes: Mapped[str] = mapped_column(String(1024), default="")

    access_token: Mapped[str | None] = mapped_column(EncryptedString(4096), default=None)
    refresh_token: Mapped[str | None] = mapped_column(EncryptedString(2048), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # QuickBooks: the refresh token's hard cap (five years from the consent at most); past it
    # only a new consent helps, so admins are warned RENEW_WARNING_DAYS before.
    refresh_hard_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # The refresh token replaced by the last rotation, and when: Xero accepts it again for
    # 30 minutes, which rescues a rotation whose answer never reached us.
    previous_refresh_token: Mapped[str | None] = mapped_column(EncryptedString(2048), default=None)
    rotated_at: Mapped[datetime | None] = mapped_column(default=None)
    token_version: Mapped[int] = mapped_column(default=1)
    # SQLite has no row locks: a refresher claims the row until this moment (compare-and-swap
    # on token_version), so that other processes wait for its result instead of refreshing.
    refresh_lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_refreshed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Sync health (status sync): the provider's clock at the last complete catch-up (the next
    # one asks for changes since then), when it ran, and the last error since a success.
    synced_until: Mapped[datetime | None] = mapped_column(default=None)
    last_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    last_sync_error: Mapped[str] = mapped_column(String(500), default="", server_default="")
    last_sync_error_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def is_live(self) -> bool:
        return self.status != ConnectionStatus.disconnected.value

    def renew_by(self, now: datetime) -> datetime | None:
        """The hard cap when it falls within RENEW_WARNING_DAYS of ``now``: the admin must
        reconnect before then. None when there is no cap, it is far off, or not live."""
        cap = self.refresh_hard_expires_at
        if cap is None or not self.is_live:
            return None
        cap = cap if cap.tzinfo else cap.replace(tzinfo=UTC)
        return cap if cap - now <= timedelta(days=RENEW_WARNING_DAYS) else None


class ConnectNonce(Base):
    """A spent OAuth ``state`` nonce: the state is single-use, so a replay finds its row."""

    __tablename__ = "connection_oauth_nonce"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class PendingConnection(Base):
    """A Xero consent that covers several organisations, waiting for the admin's choice.

    The tokens wait here (encrypted) for at most ten minutes; choosing one organisation turns
    this row into a ProviderConnection and deletes it.
    """

    __tablename__ = "pending_connection"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("crm_user.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    # JSON: the token set, the id-token identity and the tenants offered.
    payload: Mapped[str] = mapped_column(EncryptedString(16000))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
