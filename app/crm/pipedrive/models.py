from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, new_uuid
from app.kit.crypto import EncryptedString


class PipedriveInstallation(TimestampMixin, Base):
    """One user's OAuth install of the app: encrypted tokens and the company's API domain.

    Deleting this row is what "uninstalled" means for the user.
    """

    __tablename__ = "pipedrive_installation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("crm_user.id", ondelete="CASCADE"), unique=True)
    # Pipedrive access tokens grow over time; ciphertext is ~1.4x longer still.
    access_token: Mapped[str] = mapped_column(EncryptedString(2048))
    refresh_token: Mapped[str] = mapped_column(EncryptedString(2048))
    expires_at: Mapped[datetime]
    api_domain: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(String(1024), default="")
    # Bumped on every token write: the compare-and-swap key that lets exactly one process
    # refresh on SQLite, where there is no row lock.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # While set and in the future, another process owns the refresh of this row.
    refresh_lease_until: Mapped[datetime | None]


class PipedriveOAuthState(Base):
    """A spent OAuth ``state`` nonce: the signature proves we issued it, this row that it is
    used once. Holds no tenant data (the install has not happened yet)."""

    __tablename__ = "pipedrive_oauth_state"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class WebhookState(StrEnum):
    pending = "pending"  # not registered yet: a registration job is on its way
    registered = "registered"
    refused = "refused"  # Pipedrive said no for good (a scope is missing); a reinstall retries


class PipedriveWebhook(TimestampMixin, Base):
    """One of the company's webhook subscriptions at Pipedrive (one per event object).

    Registered once per company through one install's token; Pipedrive deletes an app's
    webhooks when the install that made them is uninstalled, so ``installation_id`` says whose
    uninstall means registering again. Not a foreign key: the row outlives that install.
    """

    __tablename__ = "pipedrive_webhook"
    __table_args__ = (UniqueConstraint("company_id", "event_object"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    event_object: Mapped[str] = mapped_column(String(40))
    event_action: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), default=WebhookState.pending.value)
    # Pipedrive's id of the subscription, once registered.
    webhook_id: Mapped[int | None] = mapped_column(default=None)
    installation_id: Mapped[str | None] = mapped_column(String(36), default=None)
    last_error: Mapped[str] = mapped_column(String(500), default="")
