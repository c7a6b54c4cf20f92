"""Signing in from Pipedrive's iframes: verify Pipedrive's JWT, exchange it for our session.

Pipedrive loads our pages with ``?userId&companyId&token`` (``token`` an HS256 JWT signed with
the extension's JWT secret, or the client secret by default), and the SDK's GET_SIGNED_TOKEN
gives fresh ones for API calls (``Authorization: Bearer``). Outside Pipedrive the sandbox's deal
page embeds us the same way, so there is one code path.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

from joserfc import errors as jose_errors
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.crm.pipedrive.models import PipedriveInstallation
from app.errors import Forbidden, Unauthorized
from app.tenants.models import Company, CrmUser
from app.tenants.service import issue_session_token

# Every token must say when it was issued and when it expires: a signed token without them
# would be valid forever to anyone who copied it. Pipedrive's full claim set is UNCONFIRMED
# beyond the ids (reference §3.1); its SDK tokens live 5 minutes and iframe-load tokens are
# minted per page load, so we also cap the age from ``iat`` in case ``exp`` is generous.
REQUIRED_TIME_CLAIMS = ("iat", "exp")
MAX_TOKEN_AGE_SECONDS = 3600
# Clock skew we forgive between Pipedrive's clock and ours, both ways.
CLOCK_LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class PipedriveIdentity:
    user_id: int
    company_id: int


def _claim_int(claims: dict[str, Any], *names: str) -> int:
    for name in names:
        value = claims.get(name)
        if value not in (None, ""):
            try:
                return int(value)
            except (TypeError, ValueError) as exc:
                raise Unauthorized(f"the Pipedrive token's {name} claim is not an id") from exc
    raise Unauthorized(f"the Pipedrive token has no {names[0]} claim")


def _claim_time(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        raise Unauthorized(
            f"the Pipedrive token has no {name} claim, so it would never expire; reload the page"
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthorized(f"the Pipedrive token's {name} claim is not a time")
    return float(value)


def check_token_times(claims: dict[str, Any], now: float | None = None) -> None:
    """``iat`` and ``exp`` are required; ``iat`` may be at most CLOCK_LEEWAY_SECONDS ahead of
    our clock, ``exp`` at most that far behind, and the token at most MAX_TOKEN_AGE_SECONDS
    old."""
    issued, expires = (_claim_time(claims, name) for name in REQUIRED_TIME_CLAIMS)
    now = time.time() if now is None else now
    if issued - now > CLOCK_LEEWAY_SECONDS:
        raise Unauthorized("the Pipedrive token was issued in the future; check the clock")
    if now - expires > CLOCK_LEEWAY_SECONDS:
        # A stable code: the page's script asks the SDK for a fresh token once on it.
        raise Unauthorized("the Pipedrive token has expired; reload the page", code="token_expired")
    if now - issued > MAX_TOKEN_AGE_SECONDS:
        raise Unauthorized("the Pipedrive token is too old; reload the page")


def _decode(secret: str, token: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        # The secret is Pipedrive's (or the operator's); its length is not ours to choose.
        warnings.simplefilter("ignore")
        key = OctKey.import_key(secret)
        try:
            return dict(jwt.decode(token, key, algorithms=["HS256"]).claims)
        except jose_errors.BadSignatureError as exc:
            raise Unauthorized("the Pipedrive token's signature is invalid") from exc
        except jose_errors.UnsupportedAlgorithmError as exc:
            raise Unauthorized("the Pipedrive token is not signed with HS256") from exc
        except (jose_errors.JoseError, ValueError) as exc:
            raise Unauthorized("the Pipedrive token is malformed") from exc


def verify_pipedrive_jwt(settings: Settings, token: str) -> PipedriveIdentity:
    """Check signature (HS256 only), ``iat``/``exp`` and age; return the user and company ids."""
    secret = settings.pipedrive.jwt_secret or settings.pipedrive.client_secret
    if not secret:
        raise Unauthorized("Pipedrive sign-in is not configured (no JWT secret)")
    claims = _decode(secret, token)
    check_token_times(claims)
    try:
        # The other registered claims (``nbf`` and the like) when present.
        jwt.JWTClaimsRegistry(leeway=CLOCK_LEEWAY_SECONDS).validate(claims)
    except jose_errors.JoseError as exc:
        raise Unauthorized(
            f"the Pipedrive token is not valid: {exc.description or exc.error}"
        ) from exc
    return PipedriveIdentity(
        user_id=_claim_int(claims, "userId", "user_id"),
        company_id=_claim_int(claims, "companyId", "company_id"),
    )


def check_query_matches(
    identity: PipedriveIdentity, user_id: str | None, company_id: str | None
) -> None:
    """The iframe URL's ``userId``/``companyId`` must name the token's own user and company."""
    for label, given, expected in (
        ("userId", user_id, identity.user_id),
        ("companyId", company_id, identity.company_id),
    ):
        if given in (None, ""):
            continue
        if given != str(expected):
            raise Unauthorized(
                f"the page's {label} ({given}) does not match the Pipedrive token's ({expected})"
            )


async def installed_user(session: AsyncSession, identity: PipedriveIdentity) -> CrmUser:
    """The installed user the token names; 403 for an unknown company, 401 for a user who has
    not installed (or has uninstalled) the app."""
    company = (
        await session.execute(
            select(Company).where(Company.pipedrive_company_id == identity.company_id)
        )
    ).scalar_one_or_none()
    if company is None:
        raise Forbidden(
            f"Pipedrive company {identity.company_id} has not installed CRM Invoicing; "
            "install it from the Marketplace first"
        )
    user = (
        await session.execute(
            select(CrmUser)
            .join(PipedriveInstallation, PipedriveInstallation.user_id == CrmUser.id)
            .where(
                CrmUser.company_id == company.id,
                CrmUser.pipedrive_user_id == identity.user_id,
            )
        )
    ).scalar_one_or_none()
    if user is None:
        raise Unauthorized(
            f"Pipedrive user {identity.user_id} has not installed CRM Invoicing (or has "
            "uninstalled it); install it from the Marketplace to continue"
        )
    return user


async def sign_in_with_jwt(
    session: AsyncSession,
    settings: Settings,
    token: str,
    user_id: str | None = None,
    company_id: str | None = None,
) -> tuple[CrmUser, str]:
    """Verify Pipedrive's JWT and return the installed user and a fresh session token."""
    identity = verify_pipedrive_jwt(settings, token)
    check_query_matches(identity, user_id, company_id)
    user = await installed_user(session, identity)
    return user, issue_session_token(settings, user)
