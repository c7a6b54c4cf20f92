"""Connecting: start (authorize URL with a signed state), callback (code exchange,
organisation discovery, role check), organisation choice, and storing the connection.

The shared steps (state, nonce, storing) are in ``connect_base``; Xero's organisation choice
in ``connect_xero``.
"""

from __future__ import annotations

import secrets

from app.connections.exceptions import ConnectRefused
from app.connections.models import (
    Provider,
    ProviderConnection,
)
from app.connections.oauth import (
    ClientRefused,
    ProviderFacade,
    TokenAnswerLost,
    pkce_verifier,
)
from app.connections.repository import ConnectionRepository
from app.connections.service.common import (
    STATE_TTL_SECONDS,
    provider_label,
)
from app.connections.service.connect_base import ChooseOrganisation, Connected
from app.connections.service.connect_xero import XeroConnectFlow
from app.errors import AppError
from app.kit.oauth import TokenSet
from app.kit.refresher import InvalidGrant
from app.providers.base import Credentials
from app.providers.errors import ProviderError
from app.tenants.models import CrmUser


class ConnectService(XeroConnectFlow):
    """The connect flow. ``session`` is the request's unit of work (committed by the route's
    boundary); ``sessionmaker`` is used only to spend a state nonce in its own transaction."""

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

        chosen = facade.oauth.chosen_tenant_param
        if chosen is None:
            # The consent may reach several organisations: list them and let the admin pick.
            return await self._xero_after_exchange(facade, user, tokens)
        realm_id = params.get(chosen) or params.get(chosen.lower())
        if not realm_id:
            raise ConnectRefused(
                "QuickBooks was not connected",
                "QuickBooks did not say which company was chosen (no realmId). "
                "Please start again and pick a company.",
            )
        return Connected(await self._finish_quickbooks(facade, user, tokens, realm_id))

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
