"""Install, uninstall and API access for the Pipedrive Marketplace app."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2
from fastapi import Request
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.crm.pipedrive.client import FieldDefinitionCache, PipedriveClient
from app.crm.pipedrive.errors import PipedriveAuthError
from app.crm.pipedrive.models import PipedriveInstallation, PipedriveOAuthState
from app.crm.pipedrive.oauth import PipedriveOAuth
from app.crm.pipedrive.schemas import Entity, FieldDefinition, Me
from app.crm.pipedrive.subscriptions import after_uninstall, request_registration
from app.crm.pipedrive.tokens import InstallationTokens
from app.db import utcnow
from app.errors import BadRequest, Conflict, Unauthorized
from app.kit.oauth import TokenSet
from app.kit.signing import Signer, constant_time_equals
from app.tenants.models import Company, CrmUser
from app.tenants.service import audit, purge_company

STATE_PURPOSE = "pipedrive-oauth-state"
STATE_TTL_SECONDS = 600


# OAuth state -------------------------------------------------------------------------------


def local_path(value: str | None) -> str | None:
    """``value`` if it is a path on this site (``/x``, never ``//host`` or ``/\\host``), else
    None: where an install used as a sign-in may send the browser back to."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ch in value for ch in "\\\r\n") or len(value) > 512:
        return None
    return value


def issue_state(settings: Settings, next_path: str | None = None) -> str:
    """A signed, short-lived state; its nonce is spent on the callback (single use).

    ``next_path`` (a path on this site) makes the install a sign-in: the callback sends the
    browser there, with a one-time code, instead of to the install's landing page.
    """
    body: dict[str, str] = {"nonce": secrets.token_urlsafe(24)}
    if local_path(next_path):
        body["next"] = str(next_path)
    return Signer(settings.secret_key, STATE_PURPOSE).sign(body, STATE_TTL_SECONDS)


@dataclass(frozen=True)
class CheckedState:
    nonce: str
    next_path: str | None


async def check_state(session: AsyncSession, settings: Settings, state: str) -> CheckedState:
    """Verify signature and expiry and that the nonce is unspent."""
    try:
        body = Signer(settings.secret_key, STATE_PURPOSE).unsign(state)
    except Unauthorized as exc:
        raise BadRequest(
            "this install link is invalid or has expired; start the install again",
            code="invalid_state",
        ) from exc
    nonce = str(body.get("nonce", ""))
    if not nonce or await session.get(PipedriveOAuthState, nonce) is not None:
        raise BadRequest(
            "this install link has already been used; start the install again",
            code="invalid_state",
        )
    return CheckedState(nonce=nonce, next_path=local_path(str(body.get("next") or "")))


async def spend_state(session: AsyncSession, nonce: str) -> None:
    now = utcnow()
    await session.execute(delete(PipedriveOAuthState).where(PipedriveOAuthState.expires_at < now))
    session.add(
        PipedriveOAuthState(nonce=nonce, expires_at=now + timedelta(seconds=STATE_TTL_SECONDS))
    )
    await session.flush()


# Install -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallResult:
    user: CrmUser
    company: Company
    reinstall: bool
    first_admin: bool


async def complete_install(
    session: AsyncSession, oauth: PipedriveOAuth, code: str, nonce: str | None
) -> InstallResult:
    """Exchange the code, identify the user, upsert company, user and encrypted tokens.

    The HTTP calls come first so that no database write lock is held while Pipedrive answers.
    """
    tokens = await oauth.exchange_code(code)
    if not tokens.api_domain:
        raise PipedriveAuthError("Pipedrive's token answer did not say which api_domain to use")
    if not tokens.refresh_token:
        raise PipedriveAuthError("Pipedrive's token answer has no refresh token")
    api_domain = tokens.api_domain.rstrip("/")
    me = await oauth.me(api_domain, tokens.access_token)
    if nonce:
        await spend_state(session, nonce)

    company, user = await _upsert_company_and_user(session, me)
    other_admins = await session.scalar(
        select(func.count())
        .select_from(PipedriveInstallation)
        .join(CrmUser, CrmUser.id == PipedriveInstallation.user_id)
        .where(
            PipedriveInstallation.company_id == company.id,
            CrmUser.is_admin.is_(True),
            CrmUser.id != user.id,
        )
    )
    installation = (
        await session.execute(
            select(PipedriveInstallation).where(PipedriveInstallation.user_id == user.id)
        )
    ).scalar_one_or_none()
    reinstall = installation is not None
    if installation is None:
        installation = PipedriveInstallation(company_id=company.id, user_id=user.id)
        session.add(installation)
    _store_tokens(installation, tokens, api_domain)
    await session.flush()
    # Recorded with the install, run after its commit: a refusal cannot fail the install.
    await request_registration(session, installation)
    audit(
        session,
        "user.reinstalled" if reinstall else "user.installed",
        company_id=company.id,
        pipedrive_company_id=company.pipedrive_company_id,
        actor_user_id=user.id,
        details={"pipedrive_user_id": me.id, "is_admin": me.admin},
    )
    return InstallResult(
        user=user,
        company=company,
        reinstall=reinstall,
        first_admin=bool(user.is_admin and not other_admins and not reinstall),
    )


async def _upsert_company_and_user(session: AsyncSession, me: Me) -> tuple[Company, CrmUser]:
    """The installing user's company and user rows, created or refreshed from ``users/me``."""
    company = (
        await session.execute(select(Company).where(Company.pipedrive_company_id == me.company_id))
    ).scalar_one_or_none()
    if company is None:
        company = Company(pipedrive_company_id=me.company_id)
        session.add(company)
    company.name = me.company_name or company.name or ""
    company.domain = me.company_domain or company.domain or ""
    company.timezone = me.timezone_name or company.timezone
    await session.flush()

    user = (
        await session.execute(
            select(CrmUser).where(
                CrmUser.company_id == company.id, CrmUser.pipedrive_user_id == me.id
            )
        )
    ).scalar_one_or_none()
    if user is None:
        user = CrmUser(company_id=company.id, pipedrive_user_id=me.id)
        session.add(user)
    user.name = me.name
    user.email = me.email
    user.is_admin = me.admin
    user.permission_set_id = me.permission_set_id
    user.locale = me.locale or user.locale
    await session.flush()
    return company, user


def _store_tokens(installation: PipedriveInstallation, tokens: TokenSet, api_domain: str) -> None:
    installation.access_token = tokens.access_token
    installation.refresh_token = tokens.refresh_token or installation.refresh_token
    installation.expires_at = tokens.expires_at
    installation.api_domain = api_domain
    installation.scopes = " ".join(tokens.scopes)
    installation.token_version = (installation.token_version or 0) + 1
    installation.refresh_lease_until = None


# Uninstall ---------------------------------------------------------------------------------


def basic_credentials_ok(settings: Settings, header: str | None) -> bool:
    """``Authorization: Basic base64(client_id:client_secret)``, compared in constant time."""
    expected = f"{settings.pipedrive.client_id}:{settings.pipedrive.client_secret}"
    if not header or header[:6].lower() != "basic " or not settings.pipedrive.client_secret:
        return False
    try:
        given = base64.b64decode(header[6:].strip(), validate=True)
    except ValueError:
        return False
    return constant_time_equals(given, expected.encode())


def _as_int(body: dict[str, Any], name: str) -> int:
    # The JSON types are UNCONFIRMED: accept numbers and numeric strings.
    value = body.get(name)
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{name} must be a Pipedrive id", field=name) from exc


@dataclass(frozen=True)
class UninstallResult:
    status: str
    company_purged: bool = False
    deleted: dict[str, int] | None = None


async def uninstall(session: AsyncSession, body: dict[str, Any]) -> UninstallResult:
    """Forget the user's install; when nobody in the company remains installed, purge it."""
    pd_company_id = _as_int(body, "company_id")
    pd_user_id = _as_int(body, "user_id")
    company = (
        await session.execute(select(Company).where(Company.pipedrive_company_id == pd_company_id))
    ).scalar_one_or_none()
    if company is None:
        return UninstallResult(status="not_installed")
    user = (
        await session.execute(
            select(CrmUser).where(
                CrmUser.company_id == company.id, CrmUser.pipedrive_user_id == pd_user_id
            )
        )
    ).scalar_one_or_none()
    if user is None:
        return UninstallResult(status="not_installed")
    others = await session.scalar(
        select(func.count())
        .select_from(PipedriveInstallation)
        .where(
            PipedriveInstallation.company_id == company.id, PipedriveInstallation.user_id != user.id
        )
    )
    user_id = user.id
    if not others:
        # The last installed user: everything of the company goes, this user and the audit
        # trail included, so no "user.uninstalled" line naming them is written. The purge
        # hooks run first, before anything is written, and see the company whole.
        counts = await purge_company(session, company)
        return UninstallResult(status="uninstalled", company_purged=True, deleted=counts)
    installation_id = await session.scalar(
        select(PipedriveInstallation.id).where(PipedriveInstallation.user_id == user_id)
    )
    if installation_id is not None:
        await after_uninstall(session, company.id, installation_id)
    # Deleting the user (installation first) also ends their sessions: CurrentUser re-reads
    # the user on every request.
    await session.execute(
        delete(PipedriveInstallation).where(PipedriveInstallation.user_id == user_id)
    )
    await session.execute(delete(CrmUser).where(CrmUser.id == user_id))
    audit(
        session,
        "user.uninstalled",
        company_id=company.id,
        pipedrive_company_id=pd_company_id,
        actor_user_id=user_id,
        details={"pipedrive_user_id": pd_user_id},
    )
    return UninstallResult(status="uninstalled")


# API access --------------------------------------------------------------------------------


def field_cache(request: Request) -> FieldDefinitionCache:
    cache: FieldDefinitionCache | None = getattr(request.app.state, "pipedrive_fields", None)
    if cache is None:
        cache = request.app.state.pipedrive_fields = FieldDefinitionCache()
    return cache


async def installation_for(
    session: AsyncSession, company_id: str, prefer_user_id: str | None
) -> PipedriveInstallation:
    """The caller's own install, else an admin's, else anyone's in the company: company-wide
    reads (field definitions) work for a user whose own install is missing."""
    result = await session.execute(
        select(PipedriveInstallation, CrmUser.is_admin)
        .join(CrmUser, CrmUser.id == PipedriveInstallation.user_id)
        .where(PipedriveInstallation.company_id == company_id)
    )
    rows = [(row[0], bool(row[1])) for row in result.all()]
    if not rows:
        raise Conflict(
            "nobody in this company has the app installed, so Pipedrive cannot be read; "
            "install it from the Marketplace",
            code="pipedrive_not_installed",
        )
    rows.sort(key=lambda r: (r[0].user_id != prefer_user_id, not r[1]))
    return rows[0][0]


def client_for(
    http: httpx2.AsyncClient,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    installation_id: str,
    installation: PipedriveInstallation | None = None,
) -> PipedriveClient:
    """A client for one installation; ``installation``: its row as the caller just read it,
    so that the first call does not read it again."""
    tokens = InstallationTokens(sessionmaker, PipedriveOAuth(http, settings), installation_id)
    if installation is not None:
        tokens.remember(installation)
    return PipedriveClient(http, tokens)


async def company_client(
    request: Request, session: AsyncSession, company_id: str, prefer_user_id: str | None
) -> PipedriveClient:
    """A client acting for the company, through the preferred user's install."""
    installation = await installation_for(session, company_id, prefer_user_id)
    return client_for(
        request.app.state.http,
        request.app.state.settings,
        request.app.state.sessionmaker,
        installation.id,
        installation,
    )


async def company_fields(
    request: Request, session: AsyncSession, company_id: str, prefer_user_id: str | None
) -> dict[Entity, list[FieldDefinition]]:
    """The company's organization, person and deal field definitions (cached briefly)."""
    client = await company_client(request, session, company_id, prefer_user_id)
    return await field_cache(request).get(company_id, client)
