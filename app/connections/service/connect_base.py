"""The connect flow's shared steps: the signed state and its single-use nonce, the admin it
names, the cross-company claim check, and storing the connection.

The OAuth round trip runs in a top-level window (never inside Pipedrive's iframe), so the
callback knows the company and user only from the signed ``state``: it is signed, expires after
ten minutes, is bound to company, user and provider, and is single-use (its nonce is recorded in
its own committed transaction, so even a failed callback spends it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2
import structlog
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.connections.exceptions import ConnectRefused
from app.connections.models import (
    ConnectionStatus,
    ConnectNonce,
    Provider,
    ProviderConnection,
)
from app.connections.oauth import (
    ProviderFacade,
    facade_for,
)
from app.connections.repository import ConnectionRepository, claimed_elsewhere
from app.connections.service.common import (
    PICK_PURPOSE,
    STATE_PURPOSE,
    STATE_TTL_SECONDS,
    provider_label,
    retire,
)
from app.db import utcnow
from app.errors import Unauthorized
from app.kit.oauth import TokenSet
from app.kit.signing import Signer
from app.providers.base import Organisation
from app.tenants.models import CrmUser

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Connected:
    """The callback finished: this connection is active."""

    connection: ProviderConnection


@dataclass(frozen=True)
class ChooseOrganisation:
    """The consent covers several organisations: the admin picks one on a page."""

    pick_token: str
    tenants: list[dict[str, Any]]


class ConnectBase:
    """The connect flow. ``session`` is the request's unit of work (committed by the route's
    boundary); ``sessionmaker`` is used only to spend a state nonce in its own transaction."""

    def __init__(
        self,
        settings: Settings,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
        http: httpx2.AsyncClient,
        adapters: dict[Any, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.session = session
        self.sessionmaker = sessionmaker
        self.http = http
        self.adapters = adapters
        self.state_signer = Signer(settings.secret_key, STATE_PURPOSE)
        self.pick_signer = Signer(settings.secret_key, PICK_PURPOSE)

    def facade(self, provider: Provider) -> ProviderFacade:
        return facade_for(provider, self.settings, self.http, self.adapters)

    # --- state --------------------------------------------------------------------------------

    def _read_state(self, provider: Provider, state: str | None) -> dict[str, Any]:
        if not state:
            raise ConnectRefused(
                "This connection link is not valid",
                "The answer from the provider carried no state. Start again from the "
                "Connections page.",
            )
        try:
            claims = self.state_signer.unsign(state)
        except Unauthorized as exc:
            expired = "expired" in exc.message
            raise ConnectRefused(
                "This connection link has expired"
                if expired
                else "This connection link is not valid",
                (
                    "The connection was not completed within 10 minutes. Start again from the "
                    "Connections page."
                )
                if expired
                else "The link was altered or is not ours. Start again from the Connections page.",
            ) from exc
        if claims.get("p") != provider.value or not claims.get("nonce"):
            raise ConnectRefused(
                "This connection link is not valid",
                "The link was issued for another provider. Start again from the Connections page.",
            )
        return claims

    async def _spend_nonce(self, claims: dict[str, Any]) -> None:
        nonce = str(claims["nonce"])
        async with self.sessionmaker() as session:
            session.add(
                ConnectNonce(
                    nonce=nonce,
                    company_id=str(claims["c"]),
                    expires_at=utcnow() + timedelta(seconds=STATE_TTL_SECONDS),
                )
            )
            # Spent nonces outlive their state by nothing: once expired, the signature refuses
            # the state anyway, so old rows can go.
            await session.execute(delete(ConnectNonce).where(ConnectNonce.expires_at < utcnow()))
            try:
                await session.commit()
            except IntegrityError as exc:
                await session.rollback()
                raise ConnectRefused(
                    "This connection link was already used",
                    "Each connection link works once. Start again from the Connections page.",
                ) from exc

    async def _admin(self, claims: dict[str, Any]) -> CrmUser:
        user = (
            await self.session.execute(
                select(CrmUser).where(
                    CrmUser.id == str(claims["u"]), CrmUser.company_id == str(claims["c"])
                )
            )
        ).scalar_one_or_none()
        if user is None or not user.is_admin:
            raise ConnectRefused(
                "Not allowed",
                "Only a Pipedrive admin of the company can connect an accounting system.",
                status=403,
            )
        return user

    # --- Xero ----------------------------------------------------------------------------------

    async def _refuse_if_claimed(
        self, repo: ConnectionRepository, provider: str, tenant_id: str, name: str
    ) -> None:
        if await claimed_elsewhere(repo, provider, tenant_id) is not None:
            label = provider_label(provider)
            what = f"“{name}”" if name else f"This {label} company"
            raise ConnectRefused(
                f"{label} was not connected",
                f"{what} is already connected to another Pipedrive company. An organisation "
                "can serve one Pipedrive company at a time: disconnect it there first.",
                status=409,
            )

    async def _store(
        self,
        repo: ConnectionRepository,
        user: CrmUser,
        provider: Provider,
        tenant_id: str,
        org: Organisation,
        tokens: TokenSet,
        *,
        provider_email: str = "",
        provider_role: str = "",
        xero_connection_id: str | None = None,
        auth_event_id: str | None = None,
    ) -> ProviderConnection:
        now = utcnow()
        current = await repo.live(provider.value)
        if current is not None and current.tenant_id == tenant_id:
            row = current  # a reconnect of the same organisation: same row, fresh tokens
        else:
            if current is not None:
                # Switching organisation: the old one becomes history. Its grant is left to
                # expire rather than revoked: it may be the very grant that was just renewed.
                retire(current, now)
                await self.session.flush()
            row = repo.add(ProviderConnection(provider=provider.value, tenant_id=tenant_id))
        row.organisation_name = org.name
        row.base_currency = org.base_currency
        row.short_code = org.short_code
        row.timezone = org.timezone
        row.status = ConnectionStatus.active.value
        row.status_reason = ""
        row.connected_by_id = user.id
        row.connected_by_name = user.name or user.email
        row.connected_at = now
        row.disconnected_at = None
        row.provider_user_email = provider_email
        row.provider_role = provider_role
        row.xero_connection_id = xero_connection_id
        row.auth_event_id = auth_event_id
        _store_tokens(row, tokens)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            # Another company claimed the organisation at the same moment (unique index).
            raise ConnectRefused(
                f"{provider_label(provider.value)} was not connected",
                "This organisation was connected to another Pipedrive company a moment ago.",
                status=409,
            ) from exc
        log.info(
            "connection_connected",
            provider=provider.value,
            company=user.company_id,
            tenant=tenant_id,
            role=provider_role,
        )
        return row


def _store_tokens(row: ProviderConnection, tokens: TokenSet) -> None:
    """A fresh consent's tokens: nothing of the previous grant's rotation is kept."""
    row.scopes = " ".join(tokens.scopes)
    row.access_token = tokens.access_token
    row.refresh_token = tokens.refresh_token
    row.expires_at = tokens.expires_at
    row.refresh_expires_at = tokens.refresh_expires_at
    row.refresh_hard_expires_at = tokens.refresh_hard_expires_at
    row.previous_refresh_token = None
    row.rotated_at = None
    row.refresh_lease_until = None
    row.token_version = (row.token_version or 0) + 1
