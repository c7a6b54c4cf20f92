"""Sessions of our own: short-lived signed tokens naming a user and company.

Pages inside Pipedrive's iframes cannot rely on cookies, so the token travels in the
``X-Session-Token`` header (htmx sets it on every request), never in a URL: a page is opened
with Pipedrive's JWT or a one-time code instead (``app.tenants.handoff``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import Base
from app.errors import Unauthorized
from app.kit.signing import Signer
from app.logs import log
from app.tenants.models import AuditEvent, Company, CrmUser

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


# Purging a company ------------------------------------------------------------------------

BeforePurgeHook = Callable[[AsyncSession, Company], Awaitable[None]]

_before_purge: dict[str, BeforePurgeHook] = {}


def register_before_purge(name: str, hook: BeforePurgeHook) -> None:
    """Run ``hook(session, company)`` before a company's data is deleted.

    Domains holding outside resources register here (connections revoke their provider tokens).
    Hooks run inside the purge's transaction and may read their rows; a hook that fails is
    logged and recorded in the audit line, and the deletion still happens: the user's right to
    have the data gone outweighs a revocation that can be retried by hand.
    Registering the same name again replaces the hook.
    """
    _before_purge[name] = hook


def unregister_before_purge(name: str) -> None:
    _before_purge.pop(name, None)


def company_tables() -> list[Table]:
    """Every table with a ``company_id`` column, children first, found from the metadata.

    The app factory (and the CLI, through it) imports ``app.models`` first, so the metadata
    holds every domain's tables; tenants itself imports no domain above it.
    """
    return [
        table
        for table in reversed(Base.metadata.sorted_tables)
        if "company_id" in table.c and table.name != "company"
    ]


def audit(
    session: AsyncSession,
    action: str,
    *,
    company_id: str | None,
    pipedrive_company_id: int | None,
    actor_user_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit line to the session (ids and counts only, never customer data)."""
    event = AuditEvent(
        company_id=company_id,
        pipedrive_company_id=pipedrive_company_id,
        actor_user_id=actor_user_id,
        action=action,
        details=details or {},
    )
    session.add(event)
    return event


async def purge_company(session: AsyncSession, company: Company) -> dict[str, int]:
    """Delete every row of the company in every table, its audit trail included, then the
    company, in the caller's transaction; returns the deleted row count per table.

    What remains is one anonymous ``company.purged`` audit line: no company, user or Pipedrive
    id, only the per-table counts and the hooks that ran or failed (docs/pipedrive-app.md).
    """
    failures = await _run_before_purge_hooks(session, company)
    await session.flush()
    user_ids = list(
        (await session.execute(select(CrmUser.id).where(CrmUser.company_id == company.id)))
        .scalars()
        .all()
    )
    counts: dict[str, int] = {}
    for table in company_tables():
        result = await session.execute(delete(table).where(table.c.company_id == company.id))
        counts[table.name] = int(getattr(result, "rowcount", 0) or 0)
    counts["audit_event"] += await _forget_unscoped_audit(session, company, user_ids)
    result = await session.execute(delete(Company).where(Company.id == company.id))
    counts["company"] = int(getattr(result, "rowcount", 0) or 0)
    # The identity map still holds the deleted rows; drop them so nothing writes them back.
    session.expunge_all()
    details: dict[str, Any] = {"deleted": counts, "hooks": sorted(_before_purge)}
    if failures:
        details["failed_hooks"] = failures
    audit(session, "company.purged", company_id=None, pipedrive_company_id=None, details=details)
    log.info("company_purged", rows=sum(counts.values()))
    return counts


async def _run_before_purge_hooks(session: AsyncSession, company: Company) -> list[str]:
    """Run every hook; return the names of those that failed (see register_before_purge)."""
    failures: list[str] = []
    for name, hook in list(_before_purge.items()):
        try:
            await hook(session, company)
        except Exception as exc:  # recorded, and the deletion goes on (see above)
            log.warning("before_purge_hook_failed", hook=name, error=type(exc).__name__)
            failures.append(name)
    return failures


async def _forget_unscoped_audit(
    session: AsyncSession, company: Company, user_ids: list[str]
) -> int:
    """Audit lines that name the company only by its Pipedrive id or one of its users (no
    ``company_id``, which the table walk already covered)."""
    naming = [AuditEvent.pipedrive_company_id == company.pipedrive_company_id]
    if user_ids:
        naming.append(AuditEvent.actor_user_id.in_(user_ids))
    result = await session.execute(delete(AuditEvent).where(or_(*naming)))
    return int(getattr(result, "rowcount", 0) or 0)
