"""Valid credentials for a company's connection: refresh ahead of expiry and on 401, one
refresh at a time per connection across processes, rotation committed before use.

How one refresh at a time is guaranteed:

* in one process, an asyncio lock per connection: twenty callers that find the token
  expiring queue behind one refresh and then read its result;
* across processes on PostgreSQL, ``SELECT ... FOR UPDATE`` on the connection row for the
  duration of the token call: a second process blocks, then sees the new ``token_version``;
* across processes on SQLite (no row locks), a lease claimed by compare-and-swap on
  ``token_version``: ``UPDATE ... SET refresh_lease_until WHERE token_version = :seen AND
  lease expired``. Whoever loses the swap waits for the version to move.

The rotated token set is committed in its own transaction before any caller uses the new
access token, so a crash after the call can at worst lose an answer, never a rotation we acted
on. A lost answer (timeout, dropped connection, 5xx) is retried with the same refresh token
while Xero's 30-minute grace window lasts. ``invalid_grant`` re-reads the row once (another
process may have rotated it), then marks the connection ``needs_reauth``; every caller then
gets ``NeedsReauth`` (409 with a reconnect URL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx2
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.connections.exceptions import NeedsReauth
from app.connections.models import ConnectionStatus, Provider, ProviderConnection
from app.connections.oauth import ProviderFacade, TokenAnswerLost, facade_for
from app.connections.repository import ConnectionRepository
from app.connections.token_store import (
    ConnectionTokenStore,
    check_usable,
    mark_needs_reauth,
)
from app.db import utcnow
from app.errors import ServiceUnavailable
from app.kit.oauth import TokenSet
from app.kit.refresher import InvalidGrant, LeasePolicy, TokenRefresher
from app.providers.base import Credentials
from app.providers.errors import ProviderAuthError

log = structlog.get_logger(__name__)

T = TypeVar("T")

#: Refresh when the access token has less than this left, so no call starts on a dying token.
REFRESH_MARGIN = timedelta(minutes=2)
#: Xero accepts the previous refresh token again for 30 minutes after a rotation.
XERO_GRACE = timedelta(minutes=30)
#: SQLite: a lease longer than any token call (20 s timeout) + retries; a caller waits this
#: long for another process's refresh before giving up with a 503.
LEASE_POLICY = LeasePolicy(
    lease=timedelta(seconds=90),
    wait_for_other=timedelta(seconds=100),
    poll_initial=0.02,
    poll_max=0.5,
)


def _busy() -> Exception:
    return ServiceUnavailable(
        "another worker is still refreshing this connection; try again shortly",
        headers={"Retry-After": "5"},
    )


@dataclass(frozen=True)
class Versioned:
    """Credentials plus the token version they came from (for the retry after a 401)."""

    creds: Credentials
    version: int
    connection_id: str


def is_token_rejected(exc: BaseException) -> bool:
    """A provider 401 (the access token was refused), as the adapters report it."""
    return isinstance(exc, ProviderAuthError) and exc.reason == "token_rejected"


def _expiring(row: ProviderConnection, now: datetime) -> bool:
    return row.expires_at is None or row.expires_at - now <= REFRESH_MARGIN


def _grace(provider: str) -> timedelta:
    # Intuit documents no grace window; a retry with the same token is still the only way to
    # recover a lost answer, and at worst it earns invalid_grant. Bound it like Xero's.
    return XERO_GRACE


class TokenService:
    """Hands out valid credentials per (company, provider). Uses its own short sessions, so a
    rotation commits independently of the caller's unit of work."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        http: httpx2.AsyncClient,
        *,
        lost_answer_backoff: float = 0.25,
        lost_answer_attempts: int = 4,
        adapters: dict[Any, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.http = http
        self.lost_answer_backoff = lost_answer_backoff
        self.lost_answer_attempts = lost_answer_attempts
        self.adapters = adapters
        self._facades: dict[str, ProviderFacade] = {}
        self._refresher: TokenRefresher[ProviderConnection] = TokenRefresher(
            sessionmaker, LEASE_POLICY, _busy
        )

    def facade(self, provider: str) -> ProviderFacade:
        """The provider's OAuth client and adapter (built once per service)."""
        facade = self._facades.get(provider)
        if facade is None:
            facade = facade_for(Provider(provider), self.settings, self.http, self.adapters)
            self._facades[provider] = facade
        return facade

    # --- public ------------------------------------------------------------------------------

    async def credentials(self, company_id: str, provider: str) -> Credentials:
        """Valid credentials for the company's live connection to ``provider``, refreshed when
        less than two minutes remain. Raises NotConnected or NeedsReauth (409)."""
        return (await self.versioned(company_id, provider)).creds

    async def versioned(
        self,
        company_id: str,
        provider: str,
        *,
        stale_version: int | None = None,
        known: ProviderConnection | None = None,
    ) -> Versioned:
        """Like ``credentials`` with the token version. ``stale_version``: the provider refused
        credentials of this version (a 401), so refresh unless another caller already has.
        ``known``: the connection row as the caller read it moments ago (same request), used
        instead of reading it again while its token is not expiring; a 401 reads afresh."""
        if (
            known is not None
            and stale_version is None
            and known.company_id == company_id
            and known.provider == provider
            and known.access_token
            and not _expiring(known, utcnow())
        ):
            check_usable(self.settings, known, provider)
            return self._creds(known)
        row = await self._read(company_id, provider)
        check_usable(self.settings, row, provider)
        assert row is not None
        forced = stale_version is not None and row.token_version <= stale_version
        if not forced and not _expiring(row, utcnow()):
            return self._creds(row)
        return await self._refresh(row.id, row.token_version, forced=forced)

    async def call(
        self,
        company_id: str,
        provider: str,
        fn: Callable[[Credentials], Awaitable[T]],
        known: ProviderConnection | None = None,
    ) -> T:
        """Run ``fn(credentials)``; on a provider 401 refresh once and run it again.
        ``known``: see ``versioned``.

        A Xero 403 for the tenant (the organisation disconnected our app, or was reset) marks
        the connection ``needs_reauth`` and raises NeedsReauth, like ``invalid_grant``.
        """
        first = await self.versioned(company_id, provider, known=known)
        try:
            return await fn(first.creds)
        except Exception as exc:
            await self._tenant_gone(exc, provider, first)
            if not is_token_rejected(exc):
                raise
            log.info("provider_token_rejected", provider=provider, connection=first.connection_id)
        second = await self.versioned(company_id, provider, stale_version=first.version)
        try:
            return await fn(second.creds)
        except Exception as exc:
            await self._tenant_gone(exc, provider, second)
            raise

    async def _tenant_gone(self, exc: Exception, provider: str, used: Versioned) -> None:
        adapter = self.facade(provider).adapter
        if not (
            adapter.tenant_refusal_needs_reauth
            and isinstance(exc, ProviderAuthError)
            and exc.reason == "tenant_access"
        ):
            return
        reason = f"{adapter.display_name} no longer gives access to this organisation"
        async with self.sessionmaker() as session:
            row = await session.get(ProviderConnection, used.connection_id)
            if row is not None and row.status == ConnectionStatus.active.value:
                mark_needs_reauth(row, reason)
                await session.commit()
        raise NeedsReauth(self.settings, provider, reason) from exc

    # --- reading -----------------------------------------------------------------------------

    async def _read(self, company_id: str, provider: str) -> ProviderConnection | None:
        async with self.sessionmaker() as session:
            return await ConnectionRepository(session, company_id).live(provider)

    @staticmethod
    def _creds(row: ProviderConnection) -> Versioned:
        assert row.access_token is not None
        return Versioned(
            creds=Credentials(access_token=row.access_token, tenant_id=row.tenant_id),
            version=row.token_version,
            connection_id=row.id,
        )

    def _needs_refresh(self, row: ProviderConnection, seen_version: int, forced: bool) -> bool:
        if row.token_version != seen_version:
            return False  # someone else rotated since we looked: use theirs
        return forced or _expiring(row, utcnow())

    # --- refreshing --------------------------------------------------------------------------

    async def _refresh(self, connection_id: str, seen_version: int, *, forced: bool) -> Versioned:
        store = ConnectionTokenStore(self.settings, connection_id, self._call_refresh)
        row = await self._refresher.ensure(
            store, lambda row: self._needs_refresh(row, seen_version, forced)
        )
        return self._creds(row)

    async def _call_refresh(self, row: ProviderConnection) -> TokenSet:
        """One refresh at the provider, retrying a lost answer with the same refresh token
        while the grace window lasts; on invalid_grant, one try with the token the last
        rotation replaced, if that rotation is itself inside the grace window."""
        oauth = self.facade(row.provider)
        assert row.refresh_token is not None
        started = utcnow()
        attempt = 0
        while True:
            attempt += 1
            try:
                tokens = await oauth.refresh(row.refresh_token)
                break
            except TokenAnswerLost as exc:
                log.warning(
                    "refresh_answer_lost",
                    provider=row.provider,
                    connection=row.id,
                    attempt=attempt,
                    error=exc.message,
                )
                inside_grace = utcnow() - started < _grace(row.provider)
                if attempt >= self.lost_answer_attempts or not inside_grace:
                    raise ServiceUnavailable(
                        f"{row.provider} did not answer the token refresh; try again shortly",
                        headers={"Retry-After": "30"},
                        extra={"retry_after": 30},
                    ) from exc
                await asyncio.sleep(self.lost_answer_backoff * 2 ** (attempt - 1))
            except InvalidGrant:
                previous = row.previous_refresh_token
                rotated = row.rotated_at
                if (
                    previous
                    and previous != row.refresh_token
                    and rotated is not None
                    and utcnow() - rotated < _grace(row.provider)
                ):
                    # The last rotation may not have taken hold at the provider; inside the
                    # grace window the token it replaced is still honoured.
                    log.warning("refresh_retry_previous_token", connection=row.id)
                    tokens = await oauth.refresh(previous)
                    break
                raise
        log.info("token_refreshed", provider=row.provider, connection=row.id)
        return tokens
