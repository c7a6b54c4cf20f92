"""Connecting: start (authorize URL with a signed state), callback (code exchange,
organisation discovery, role check), organisation choice, and storing the connection.

The OAuth round trip runs in a top-level window (never inside Pipedrive's iframe), so the
callback knows the company and user only from the signed ``state``: it is signed, expires after
ten minutes, is bound to company, user and provider, and is single-use (its nonce is recorded in
its own committed transaction, so even a failed callback spends it).
"""

from __future__ import annotations

import base64
import json
import secrets
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
    PendingConnection,
    Provider,
    ProviderConnection,
)
from app.connections.oauth import (
    ClientRefused,
    ProviderFacade,
    TokenAnswerLost,
    XeroConnection,
    facade_for,
    pkce_verifier,
)
from app.connections.repository import ConnectionRepository, any_live, claimed_elsewhere
from app.connections.service.common import (
    ALLOWED_XERO_ROLES,
    PICK_PURPOSE,
    ROLE_LABELS,
    STATE_PURPOSE,
    STATE_TTL_SECONDS,
    provider_label,
    retire,
)
from app.db import utcnow
from app.errors import AppError, Unauthorized
from app.kit.oauth import TokenSet
from app.kit.refresher import InvalidGrant
from app.kit.signing import Signer
from app.providers.base import Credentials, Organisation
from app.providers.errors import ProviderError
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


class ConnectService:
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

    # --- start ---------------------------------------------------------------------------------

    def authorize_url(self, user: CrmUser, provider: Provider) -> str:
        """The provider's consent URL for this admin, with a fresh signed state (and PKCE)."""
        nonce = secrets.token_urlsafe(18)
        state = self.state_signer.sign(
            {"c": user.company_id, "u": user.id, "p": provider.value, "nonce": nonce},
            STATE_TTL_SECONDS,
        )
        return self.facade(provider).authorize_url(
            state, pkce_verifier(self.settings.secret_key, nonce)
        )

    def facade(self, provider: Provider) -> ProviderFacade:
        return facade_for(provider, self.settings, self.http, self.adapters)

    # --- callback ------------------------------------------------------------------------------

    async def callback(
        self, provider: Provider, params: dict[str, str]
    ) -> Connected | ChooseOrganisation:
        """Finish the consent; raises ConnectRefused (a clear page, nothing stored)."""
        label = provider_label(provider.value)
        claims = self._read_state(provider, params.get("state"))
        # Spend the state before anything else, even when the provider reports a denial.
        await self._spend_nonce(claims)
        user = await self._admin(claims)
        if params.get("error"):
            if params["error"] == "access_denied":
                raise ConnectRefused(
                    f"{label} was not connected",
                    f"Access was declined in {label}, so nothing was connected. "
                    "You can try again from the Connections page.",
                    status=400,
                )
            raise ConnectRefused(
                f"{label} was not connected",
                f"{label} reported an error: {params['error']}"
                + (f" ({params['error_description']})" if params.get("error_description") else ""),
                status=400,
            )
        code = params.get("code")
        if not code:
            raise ConnectRefused(
                f"{label} was not connected",
                f"{label} sent no authorisation code back. Please start again.",
            )
        facade = self.facade(provider)
        try:
            tokens = await facade.exchange_code(
                code, pkce_verifier(self.settings.secret_key, str(claims["nonce"]))
            )
        except InvalidGrant as exc:
            raise ConnectRefused(
                f"{label} was not connected",
                f"{label} did not accept the authorisation code (it may have expired). "
                "Please start again.",
            ) from exc
        except (TokenAnswerLost, ClientRefused) as exc:
            raise ConnectRefused(f"{label} was not connected", exc.message, status=503) from exc
        except AppError as exc:
            raise ConnectRefused(f"{label} was not connected", exc.message, status=502) from exc

        if provider == Provider.xero:
            return await self._xero_after_exchange(facade, user, tokens)
        realm_id = params.get("realmId") or params.get("realmid")
        if not realm_id:
            raise ConnectRefused(
                "QuickBooks was not connected",
                "QuickBooks did not say which company was chosen (no realmId). "
                "Please start again and pick a company.",
            )
        return Connected(await self._finish_quickbooks(facade, user, tokens, realm_id))

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

    async def _xero_after_exchange(
        self, facade: ProviderFacade, user: CrmUser, tokens: TokenSet
    ) -> Connected | ChooseOrganisation:
        tenants = await self._xero_call(facade.xero_connections(tokens.access_token))
        # Narrow to this consent when the access token names its authentication event (Xero
        # access tokens are JWTs; the claim is UNCONFIRMED, so without it all are offered).
        event = jwt_claims(tokens.access_token).get("authentication_event_id")
        if event and any(t.auth_event_id == event for t in tenants):
            tenants = [t for t in tenants if t.auth_event_id == event]
        if not tenants:
            raise ConnectRefused(
                "Xero was not connected",
                "No Xero organisation was shared with this app. Start again and tick the "
                "organisation to connect.",
            )
        if len(tenants) == 1:
            try:
                return Connected(await self._finish_xero(facade, user, tokens, tenants[0]))
            except ConnectRefused:
                await self._release_xero(facade, tokens.access_token, [tenants[0].id])
                raise
        repo = ConnectionRepository(self.session, user.company_id)
        offered = []
        for t in tenants:
            taken = await claimed_elsewhere(repo, "xero", t.tenant_id)
            offered.append(
                {
                    "connection_id": t.id,
                    "tenant_id": t.tenant_id,
                    "tenant_name": t.tenant_name,
                    "auth_event_id": t.auth_event_id,
                    "claimed": taken is not None,
                }
            )
        pending = PendingConnection(
            company_id=user.company_id,
            user_id=user.id,
            provider="xero",
            payload=json.dumps({"tokens": tokens.model_dump(mode="json"), "tenants": offered}),
            expires_at=utcnow() + timedelta(seconds=STATE_TTL_SECONDS),
        )
        self.session.add(pending)
        await self.session.execute(
            delete(PendingConnection).where(PendingConnection.expires_at < utcnow())
        )
        await self.session.flush()
        token = self.pick_signer.sign(
            {"pending": pending.id, "c": user.company_id, "u": user.id}, STATE_TTL_SECONDS
        )
        return ChooseOrganisation(pick_token=token, tenants=offered)

    async def choose(self, pick_token: str, tenant_id: str) -> ProviderConnection:
        """The admin picked one organisation of a multi-organisation consent."""
        try:
            claims = self.pick_signer.unsign(pick_token)
        except Unauthorized as exc:
            raise ConnectRefused(
                "This choice has expired",
                "The organisation was not chosen within 10 minutes. Start again from the "
                "Connections page.",
            ) from exc
        pending = (
            await self.session.execute(
                select(PendingConnection).where(
                    PendingConnection.id == str(claims.get("pending")),
                    PendingConnection.company_id == str(claims.get("c")),
                    PendingConnection.user_id == str(claims.get("u")),
                )
            )
        ).scalar_one_or_none()
        if pending is None or pending.expires_at < utcnow():
            raise ConnectRefused(
                "This choice was already made",
                "This organisation choice was already used or has expired. Start again from "
                "the Connections page.",
            )
        payload = json.loads(pending.payload)
        # Single use: the pending row goes now, whatever the outcome, and that delete is
        # committed even when the choice is refused below.
        async with self.sessionmaker() as spend:
            spent = await spend.execute(
                delete(PendingConnection).where(PendingConnection.id == pending.id)
            )
            await spend.commit()
        if int(getattr(spent, "rowcount", 0) or 0) != 1:
            # A concurrent submission of the same choice got there first.
            raise ConnectRefused(
                "This choice was already made",
                "This organisation choice was already used. Start again from the Connections page.",
            )
        match = next((t for t in payload["tenants"] if t["tenant_id"] == tenant_id), None)
        if match is None:
            raise ConnectRefused(
                "Xero was not connected",
                "That organisation was not part of this consent. Start again from the "
                "Connections page.",
            )
        user = await self._admin({"u": pending.user_id, "c": pending.company_id})
        tenant = XeroConnection(
            id=match["connection_id"],
            tenant_id=match["tenant_id"],
            tenant_name=match["tenant_name"],
            tenant_type="ORGANISATION",
            auth_event_id=match.get("auth_event_id"),
            created_at=None,
        )
        tokens = TokenSet.model_validate(payload["tokens"])
        facade = self.facade(Provider.xero)
        offered = [t["connection_id"] for t in payload["tenants"]]
        try:
            row = await self._finish_xero(facade, user, tokens, tenant)
        except ConnectRefused:
            await self._release_xero(facade, tokens.access_token, offered)
            raise
        await self._release_xero(
            facade, tokens.access_token, [c for c in offered if c != tenant.id]
        )
        return row

    async def _release_xero(
        self, facade: ProviderFacade, access_token: str, connection_ids: list[str]
    ) -> None:
        """Disconnect tenants this consent connected but we do not use (not chosen, or
        refused), so that no organisation stays reachable by a grant we keep nowhere. A tenant
        connection that one of our live connections uses (the same Xero user connected it for
        another company, or earlier) is left alone. Best effort: a failure is only logged."""
        for connection_id in connection_ids:
            used = ProviderConnection.xero_connection_id == connection_id
            if await any_live(self.session, Provider.xero.value, used):
                continue
            try:
                await facade.xero_delete_connection(access_token, connection_id)
            except ProviderError as exc:
                log.info("xero_release_failed", connection=connection_id, error=exc.code)

    async def _finish_xero(
        self, facade: ProviderFacade, user: CrmUser, tokens: TokenSet, tenant: XeroConnection
    ) -> ProviderConnection:
        repo = ConnectionRepository(self.session, user.company_id)
        await self._refuse_if_claimed(repo, "xero", tenant.tenant_id, tenant.tenant_name)
        email = await self._xero_call(_async(facade.email_of, tokens.id_token))
        if not email:
            raise ConnectRefused(
                "Xero was not connected",
                "Xero did not tell us who you are (no email in the identity token), so your "
                "role in the organisation could not be checked.",
            )
        creds = Credentials(access_token=tokens.access_token, tenant_id=tenant.tenant_id)
        users = await self._xero_call(facade.xero_users(creds))
        me = next((u for u in users if (u.email or "").strip().lower() == email.lower()), None)
        role = me.role if me else ""
        if role not in ALLOWED_XERO_ROLES:
            why = (
                f"your Xero role there is {ROLE_LABELS.get(role, role.title())}"
                if role
                else f"{email} is not a user of that organisation"
            )
            raise ConnectRefused(
                "Xero was not connected",
                f"Connecting “{tenant.tenant_name}” needs the Standard or Adviser role in Xero, "
                f"but {why}. Ask a Xero user with one of those roles to connect, or ask your "
                "Xero subscriber to change your role.",
                status=403,
            )
        org = await self._xero_call(facade.organisation(creds))
        return await self._store(
            repo,
            user,
            Provider.xero,
            tenant.tenant_id,
            org,
            tokens,
            provider_email=email,
            provider_role=role,
            xero_connection_id=tenant.id,
            auth_event_id=tenant.auth_event_id,
        )

    async def _xero_call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except ProviderError as exc:
            raise ConnectRefused("Xero was not connected", exc.message, status=502) from exc

    # --- QuickBooks ----------------------------------------------------------------------------

    async def _finish_quickbooks(
        self, facade: ProviderFacade, user: CrmUser, tokens: TokenSet, realm_id: str
    ) -> ProviderConnection:
        repo = ConnectionRepository(self.session, user.company_id)
        await self._refuse_if_claimed(repo, "quickbooks", realm_id, "")
        try:
            org = await facade.organisation(
                Credentials(access_token=tokens.access_token, tenant_id=realm_id)
            )
            email = facade.email_of(tokens.id_token)
        except ProviderError as exc:
            raise ConnectRefused("QuickBooks was not connected", exc.message, status=502) from exc
        # Intuit lets only a company's admin authorise an app, and exposes no role to read back,
        # so there is no role check to make here.
        return await self._store(
            repo, user, Provider.quickbooks, realm_id, org, tokens, provider_email=email
        )

    # --- storing -------------------------------------------------------------------------------

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
        row.scopes = " ".join(tokens.scopes)
        row.access_token = tokens.access_token
        row.refresh_token = tokens.refresh_token
        row.expires_at = tokens.expires_at
        row.refresh_expires_at = tokens.refresh_expires_at
        row.previous_refresh_token = None
        row.rotated_at = None
        row.refresh_lease_until = None
        row.token_version = (row.token_version or 0) + 1
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


async def _async(fn: Any, *args: Any) -> Any:
    """Run a plain call where an awaitable is expected (to share one error mapping)."""
    return fn(*args)


def jwt_claims(token: str | None) -> dict[str, Any]:
    """The claims of a JWT without verifying it, or {} for an opaque token. Used only to
    narrow Xero's connections list to this consent, never to authorise anything."""
    if not token or token.count(".") != 2:
        return {}
    body = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}
