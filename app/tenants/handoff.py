"""How a signed-in user gets from one of our pages to another without a session in any URL.

- A **one-time code** (``?handoff=``): signed for its own purpose, valid HANDOFF_TTL_SECONDS,
  spent on first use (its nonce is recorded in ``spent_handoff``). The install redirect and the
  links between our pages carry one; the page that receives it trades it for a session (kept in
  the page's ``session-token`` meta tag, sent back as ``X-Session-Token``) and its script takes
  the code out of the address bar.
- A **reload cookie**: a top-level page that traded a code also sets an HttpOnly, SameSite=Lax
  cookie (Secure over https) signed for its own purpose, so F5 on that page signs in again.
  It is honoured only for a page's GET (never for htmx or API calls, which carry the header),
  so a forged cross-site request cannot use it to change anything. Inside Pipedrive's iframe
  the browser drops it (third-party context) and the page signs in from Pipedrive's fresh JWT.

Both are HS256 tokens checked by ``kit.signing`` (HMAC compared in constant time, ``exp``
enforced); a token signed for one purpose never verifies for another.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import utcnow
from app.errors import Unauthorized
from app.kit.signing import Signer
from app.tenants.models import CrmUser, SpentHandoff
from app.tenants.service import SessionClaims
from app.web import set_cookie_on_render

HANDOFF_PARAM = "handoff"
HANDOFF_PURPOSE = "handoff"
HANDOFF_TTL_SECONDS = 60
RELOAD_COOKIE = "crm_invoicing_page"
RELOAD_PURPOSE = "page-reload"


def _handoff_signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key, HANDOFF_PURPOSE)


def _reload_signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key, RELOAD_PURPOSE)


def _claims(body: dict[str, object], what: str) -> SessionClaims:
    user_id, company_id = body.get("u"), body.get("c")
    if not user_id or not company_id:
        raise Unauthorized(f"the {what} is invalid")
    return SessionClaims(user_id=str(user_id), company_id=str(company_id))


def issue_handoff(settings: Settings, user: CrmUser) -> str:
    """A one-time code naming this user, valid HANDOFF_TTL_SECONDS."""
    return _handoff_signer(settings).sign({"u": user.id, "c": user.company_id}, HANDOFF_TTL_SECONDS)


async def redeem_handoff(session: AsyncSession, settings: Settings, code: str) -> SessionClaims:
    """Check the code (signature, expiry) and spend it; a second use is refused (401).

    The spent row is written in the request's transaction: if the page then fails, the
    rollback leaves the code usable again for what remains of its minute.
    """
    try:
        body = _handoff_signer(settings).unsign(code)
    except Unauthorized as exc:
        raise Unauthorized(
            "this sign-in link is invalid or has expired; open the page again from Pipedrive",
            code="invalid_handoff",
        ) from exc
    claims = _claims(body, "sign-in link")
    nonce = str(body.get("nonce") or "")
    used = Unauthorized(
        "this sign-in link has already been used; open the page again from Pipedrive",
        code="handoff_used",
    )
    if not nonce or await session.get(SpentHandoff, nonce) is not None:
        raise used
    now = utcnow()
    await session.execute(delete(SpentHandoff).where(SpentHandoff.expires_at < now))
    session.add(
        SpentHandoff(nonce=nonce, expires_at=now + timedelta(seconds=HANDOFF_TTL_SECONDS * 2))
    )
    try:
        await session.flush()
    except IntegrityError as exc:  # the same code, traded at the same moment elsewhere
        raise used from exc
    return claims


def remember_for_reload(request: Request, settings: Settings, user: CrmUser) -> None:
    """Have the page rendered for this request set the reload cookie (see the module doc)."""
    value = _reload_signer(settings).sign(
        {"u": user.id, "c": user.company_id}, settings.session_ttl_seconds
    )
    secure = request.url.scheme == "https" or settings.public_url.startswith("https://")
    set_cookie_on_render(
        request,
        key=RELOAD_COOKIE,
        value=value,
        max_age=settings.session_ttl_seconds,
        path="/",
        httponly=True,
        secure=secure,
        samesite="lax",
    )


def reload_claims(request: Request, settings: Settings) -> SessionClaims | None:
    """The reload cookie's user, for a page's GET only; None when there is none."""
    value = request.cookies.get(RELOAD_COOKIE)
    if not value or request.method not in ("GET", "HEAD"):
        return None
    try:
        body = _reload_signer(settings).unsign(value)
    except Unauthorized:
        return None  # expired or foreign: as if there were none
    return _claims(body, "page cookie")
