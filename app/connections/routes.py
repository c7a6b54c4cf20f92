"""HTTP surface of the connections domain: the JSON API and the connect-flow pages."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.connections.dependencies import Adapters, Tokens
from app.connections.exceptions import ConnectRefused
from app.connections.hooks import run_after_connect
from app.connections.models import ProviderConnection
from app.connections.repository import ConnectionRepository
from app.connections.schemas import ConnectionOut, DisconnectOut
from app.connections.service import (
    ChooseOrganisation,
    ConnectService,
    connection_out,
    disconnect,
    list_connections,
    parse_provider,
    provider_label,
)
from app.errors import AppError, NotFound, Unauthorized
from app.tenants.dependencies import (
    CurrentAdmin,
    CurrentUser,
    MaybePageUser,
    PageAdmin,
    get_page_admin,
    sign_in_redirect,
)
from app.tenants.models import CrmUser
from app.tenants.service import issue_session_token
from app.web import DbSession, HttpClient, SettingsDep, render
from app.webhooks.service import waiting_by_source

api = APIRouter(prefix="/api/v1/connections", tags=["connections"])
pages = APIRouter(prefix="/connections", tags=["connections"], include_in_schema=False)


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


Sessionmaker = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


async def _with_health(
    session: AsyncSession, items: list[ConnectionOut], company_id: str
) -> list[ConnectionOut]:
    waiting = await waiting_by_source(session, company_id)
    for item in items:
        item.events_waiting = waiting.get(item.provider, 0)
    return items


# --- JSON API --------------------------------------------------------------------------------


@api.get("", response_model=list[ConnectionOut])
async def api_list(user: CurrentUser, session: DbSession, settings: SettingsDep) -> Any:
    """The company's Xero and QuickBooks connections: status, organisation, who connected,
    and sync health."""
    return await _with_health(
        session, await list_connections(settings, session, user.company_id), user.company_id
    )


@api.get("/{provider}", response_model=ConnectionOut)
async def api_get(
    provider: str, user: CurrentUser, session: DbSession, settings: SettingsDep
) -> Any:
    """One provider's connection for the company (``not_connected`` when there is none)."""
    p = parse_provider(provider)
    row = await ConnectionRepository(session, user.company_id).latest(p.value)
    return connection_out(settings, p.value, row)


@api.post("/{provider}/check", response_model=ConnectionOut)
async def api_check(
    provider: str,
    user: CurrentUser,
    session: DbSession,
    settings: SettingsDep,
    tokens: Tokens,
) -> Any:
    """Reach the provider with the company's connection (refreshing its token if needed) and
    update the organisation's name, base currency and short code. A connection the provider
    no longer accepts answers 409 ``needs_reauth`` with ``reconnect_url``."""
    p = parse_provider(provider)
    facade = tokens.facade(p.value)
    info = await tokens.call(user.company_id, p.value, facade.organisation)
    row = await ConnectionRepository(session, user.company_id).live(p.value)
    if row is None:
        raise NotFound(f"{provider_label(p.value)} is not connected")
    row.organisation_name = info.name or row.organisation_name
    row.base_currency = info.base_currency or row.base_currency
    row.short_code = info.short_code or row.short_code
    row.timezone = info.timezone or row.timezone
    return connection_out(settings, p.value, row)


@api.delete("/{provider}", response_model=DisconnectOut)
async def api_disconnect(
    provider: str,
    admin: CurrentAdmin,
    session: DbSession,
    settings: SettingsDep,
    tokens: Tokens,
) -> Any:
    """Disconnect: revoke access at the provider, delete the tokens, keep the history."""
    return await disconnect(settings, session, tokens, admin.company_id, parse_provider(provider))


# --- pages -----------------------------------------------------------------------------------


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> Any:
    return render(
        request,
        template,
        status_code,
        session_token=getattr(request.state, "session_token", None),
        **context,
    )


@pages.get("")
async def connections_page(
    request: Request, admin: PageAdmin, session: DbSession, settings: SettingsDep
) -> Any:
    """The Connections page (admins): connect, status, organisation, who connected, reconnect,
    disconnect. Opened with a one-time ``?handoff=`` code (or reloaded with the page cookie)."""
    items = await list_connections(settings, session, admin.company_id)
    items = await _with_health(session, items, admin.company_id)
    return _page(request, "connections/index.html", connections=items, admin=admin)


@pages.get("/{provider}/connect")
async def connect(
    provider: str,
    request: Request,
    user: MaybePageUser,
    session: DbSession,
    settings: SettingsDep,
    http: HttpClient,
    sessionmaker: Sessionmaker,
    adapters: Adapters,
) -> Response:
    """Start the consent: redirect to the provider with a signed, single-use state.

    This is also the reconnect URL Pipedrive's Invoicing extension and Intuit's app center
    open in a window of their own, without our session: such a browser is sent to sign in
    (Pipedrive's OAuth) and comes back here with a one-time code.
    """
    p = parse_provider(provider)
    if user is None:
        target = sign_in_redirect(request)
        if target is None:
            raise Unauthorized("Open this page from Pipedrive: no sign-in was sent with it.")
        return RedirectResponse(target, status_code=303)
    admin = await get_page_admin(user)
    url = ConnectService(settings, session, sessionmaker, http, adapters).authorize_url(admin, p)
    return RedirectResponse(url, status_code=303)


@pages.get("/{provider}/callback")
async def callback(
    provider: str,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    http: HttpClient,
    sessionmaker: Sessionmaker,
    adapters: Adapters,
) -> Any:
    """The provider sends the admin back here (top-level window; the state names who)."""
    p = parse_provider(provider)
    service = ConnectService(settings, session, sessionmaker, http, adapters)
    try:
        outcome = await service.callback(p, dict(request.query_params))
    except ConnectRefused as refused:
        await session.rollback()
        return _refused(request, refused)
    if isinstance(outcome, ChooseOrganisation):
        return _page(
            request,
            "connections/choose.html",
            pick_token=outcome.pick_token,
            tenants=outcome.tenants,
        )
    return await _connected(request, session, settings, outcome.connection)


@pages.post("/xero/choose")
async def choose(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    http: HttpClient,
    sessionmaker: Sessionmaker,
    adapters: Adapters,
    pick: Annotated[str, Form()],
    tenant_id: Annotated[str, Form()],
) -> Any:
    """The admin picked one organisation of a consent that covered several."""
    service = ConnectService(settings, session, sessionmaker, http, adapters)
    try:
        row = await service.choose(pick, tenant_id)
    except ConnectRefused as refused:
        await session.rollback()
        return _refused(request, refused)
    return await _connected(request, session, settings, row)


@pages.get("/{provider}/card")
async def card(
    provider: str, request: Request, admin: CurrentAdmin, session: DbSession, settings: SettingsDep
) -> Any:
    """htmx/script: the provider's card as it is now (the page re-reads it while a connect runs
    in the other window, and when it gets the focus back)."""
    p = parse_provider(provider)
    row = await ConnectionRepository(session, admin.company_id).latest(p.value)
    items = await _with_health(session, [connection_out(settings, p.value, row)], admin.company_id)
    return _page(request, "connections/_card.html", c=items[0], error=None)


@pages.delete("/{provider}")
async def disconnect_from_page(
    provider: str,
    request: Request,
    admin: CurrentAdmin,
    session: DbSession,
    settings: SettingsDep,
    tokens: Tokens,
) -> Any:
    """htmx: disconnect, then answer the provider's refreshed card."""
    p = parse_provider(provider)
    # Read before a rollback expires the admin's row (reloading it then is IO out of place).
    company_id = admin.company_id
    error = None
    try:
        await disconnect(settings, session, tokens, company_id, p)
    except AppError as exc:
        await session.rollback()
        error = exc.message
    row = await ConnectionRepository(session, company_id).latest(p.value)
    return _page(
        request,
        "connections/_card.html",
        c=connection_out(settings, p.value, row),
        error=error,
    )


def _refused(request: Request, refused: ConnectRefused) -> Any:
    return _page(
        request,
        "connections/result.html",
        refused.status,
        ok=False,
        title=refused.title,
        message=refused.message,
    )


async def _connected(
    request: Request, session: AsyncSession, settings: Settings, row: ProviderConnection
) -> Any:
    user = await session.get(CrmUser, row.connected_by_id) if row.connected_by_id else None
    # The round trip ran in a top-level window without our session; the signed state proved
    # who this admin is, so the page carries a fresh session (in its meta tag) and its links
    # ask for a one-time code when clicked.
    if user is not None:
        request.state.session_token = issue_session_token(settings, user)
    label = provider_label(row.provider)
    # Pipedrive's Invoicing extension learns of the connection here (an after-connect hook the
    # app factory installs; a failure there never fails the connect: the page then offers to
    # register again).
    registration = await run_after_connect(request.app.state, session, row)
    if registration and registration.redirect_url and _is_web_url(registration.redirect_url):
        # The extension contract: the browser goes on to Pipedrive's page, which says whether
        # the connection succeeded and leads on to the invoicing preferences there.
        return RedirectResponse(registration.redirect_url, status_code=303)
    return _page(
        request,
        "connections/result.html",
        ok=True,
        title=f"{label} connected",
        message=f"{row.organisation_name} ({row.base_currency}) is now connected. Everyone in "
        f"your Pipedrive company can create invoices in it.",
        back_url="/connections" if user is not None else None,
        connection=row,
        register_error=registration.error if registration else None,
        register_url=f"/pipedrive/invoicing/register/{row.provider}" if user is not None else None,
    )


def _is_web_url(url: str) -> bool:
    return urlsplit(url).scheme in ("https", "http") and bool(urlsplit(url).netloc)
