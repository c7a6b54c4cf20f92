"""Connecting Xero: the organisations a consent reaches, the admin's choice among several,
the connect-time role check, and releasing tenant connections we do not keep."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select

from app.connections.exceptions import ConnectRefused
from app.connections.models import (
    PendingConnection,
    Provider,
    ProviderConnection,
)
from app.connections.oauth import (
    ProviderFacade,
    XeroConnection,
)
from app.connections.repository import ConnectionRepository, any_live, claimed_elsewhere
from app.connections.service.common import (
    ALLOWED_XERO_ROLES,
    ROLE_LABELS,
    STATE_TTL_SECONDS,
)
from app.connections.service.connect_base import ChooseOrganisation, ConnectBase, Connected
from app.db import utcnow
from app.errors import Unauthorized
from app.kit.oauth import TokenSet
from app.providers.base import Credentials
from app.providers.errors import ProviderError
from app.tenants.models import CrmUser

log = structlog.get_logger(__name__)


class XeroConnectFlow(ConnectBase):
    """The Xero steps after the code exchange (Xero lists the grant's organisations)."""

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
        pending, payload = await self._take_pending(claims)
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

    async def _take_pending(self, claims: dict[str, Any]) -> tuple[PendingConnection, Any]:
        """The pending choice the pick token names, deleted in its own committed transaction
        (single use, whatever the outcome), with its payload."""
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
        return pending, json.loads(pending.payload)

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
