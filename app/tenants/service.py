"""Sessions of our own: short-lived signed tokens naming a user and company.

Pages inside Pipedrive's iframes cannot rely on cookies, so the token travels in the
``X-Session-Token`` header (htmx sets it on every request) or, for a first page load, the
``session`` query parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.errors import Unauthorized
from app.security import Signer
from app.tenants.models import CrmUser

SESSION_PURPOSE = "session"


@dataclass(frozen=True)
class SessionClaims:
    user_id: str
    company_id: str


def session_signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key, SESSION_PURPOSE)


def issue_session_token(settings: Settings, user: CrmUser) -> str:
    """Sign a session for this user, valid for SESSION_TTL_SECONDS."""
    return session_signer(settings).sign(
        {"u": user.id, "c": user.company_id}, settings.session_ttl_seconds
    )


def read_session_token(settings: Settings, token: str) -> SessionClaims:
    body = session_signer(settings).unsign(token)
    try:
        return SessionClaims(user_id=str(body["u"]), company_id=str(body["c"]))
    except KeyError as exc:
        raise Unauthorized("the session token is invalid") from exc
