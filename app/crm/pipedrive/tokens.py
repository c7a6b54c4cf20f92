"""Access tokens of one installation, refreshed ahead of expiry and at most once at a time.

Two guards, because the app runs as several processes:
- in this process, one ``asyncio.Lock`` per installation makes concurrent requests wait for the
  refresh already under way instead of starting their own;
- across processes, PostgreSQL locks the row (``SELECT ... FOR UPDATE``) for the duration of the
  refresh, and SQLite (no row locks) uses a compare-and-swap lease on ``token_version``: only the
  process whose conditional UPDATE claimed the lease refreshes, the others wait for the new
  version to appear.

Pipedrive does not rotate refresh tokens, so a duplicate refresh would not break anything; the
guards exist to spare the company's rate budget and keep one writer per row.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.crm.pipedrive.errors import PipedriveAuthError, PipedriveUnavailable
from app.crm.pipedrive.models import PipedriveInstallation
from app.crm.pipedrive.oauth import PipedriveOAuth
from app.crm.pipedrive.schemas import TokenSet
from app.db import utcnow

# Refresh this long before expiry so that a request never starts with a dying token.
REFRESH_MARGIN = timedelta(minutes=5)
LEASE = timedelta(seconds=30)
LEASE_WAIT_SECONDS = 20.0
LEASE_POLL_SECONDS = 0.1

_locks: dict[str, asyncio.Lock] = {}


def _lock(installation_id: str) -> asyncio.Lock:
    lock = _locks.get(installation_id)
    if lock is None:
        lock = _locks[installation_id] = asyncio.Lock()
    return lock


@dataclass(frozen=True)
class Credentials:
    access_token: str
    api_domain: str
    version: int


@dataclass(frozen=True)
class _Row:
    access_token: str
    refresh_token: str
    expires_at: datetime
    api_domain: str
    version: int
    lease_until: datetime | None

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.access_token, self.api_domain, self.version)


def expiry_of(tokens: TokenSet, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=max(int(tokens.expires_in), 0))


class InstallationTokens:
    """Tokens of one ``PipedriveInstallation``; reads and writes go through their own sessions
    so that a refresh commits at once, independent of the request's unit of work."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        oauth: PipedriveOAuth,
        installation_id: str,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.oauth = oauth
        self.installation_id = installation_id
        self.refreshes = 0

    async def _load(self, session: AsyncSession, *, for_update: bool = False) -> _Row:
        query = select(PipedriveInstallation).where(
            PipedriveInstallation.id == self.installation_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            raise PipedriveAuthError("this user has uninstalled the app from Pipedrive")
        return _Row(
            row.access_token,
            row.refresh_token,
            row.expires_at,
            row.api_domain,
            row.token_version,
            row.refresh_lease_until,
        )

    @staticmethod
    def _stale(row: _Row, rejected: str | None) -> bool:
        if rejected is not None and row.access_token == rejected:
            return True
        return row.expires_at - utcnow() < REFRESH_MARGIN

    async def current(self) -> Credentials:
        """A token good for at least REFRESH_MARGIN, refreshing first when needed."""
        return await self._ensure(rejected=None)

    async def after_rejection(self, rejected: str) -> Credentials:
        """Pipedrive answered 401 to ``rejected``: refresh unless someone already did."""
        return await self._ensure(rejected=rejected)

    async def _ensure(self, rejected: str | None) -> Credentials:
        async with self.sessionmaker() as session:
            row = await self._load(session)
        if not self._stale(row, rejected):
            return row.credentials
        async with _lock(self.installation_id):
            async with self.sessionmaker() as session:
                row = await self._load(session)
                backend = session.bind.dialect.name if session.bind else "sqlite"
            if not self._stale(row, rejected):
                return row.credentials  # refreshed while we waited for the lock
            if backend == "postgresql":
                return await self._refresh_with_row_lock(rejected)
            return await self._refresh_with_lease(row, rejected)

    async def _write(self, session: AsyncSession, tokens: TokenSet, version: int) -> Credentials:
        values: dict[str, object] = {
            "access_token": tokens.access_token,
            "expires_at": expiry_of(tokens),
            "token_version": version + 1,
            "refresh_lease_until": None,
            "updated_at": utcnow(),
        }
        # Pipedrive returns the same refresh token; store whatever it sends, keep ours if none.
        if tokens.refresh_token:
            values["refresh_token"] = tokens.refresh_token
        if tokens.api_domain:
            values["api_domain"] = tokens.api_domain.rstrip("/")
        result = await session.execute(
            update(PipedriveInstallation)
            .where(
                PipedriveInstallation.id == self.installation_id,
                PipedriveInstallation.token_version == version,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 1) != 1:
            raise PipedriveUnavailable("the Pipedrive tokens changed during refresh; try again")
        self.refreshes += 1
        domain = str(values.get("api_domain") or "")
        return Credentials(tokens.access_token, domain, version + 1)

    async def _refresh_with_row_lock(self, rejected: str | None) -> Credentials:
        async with self.sessionmaker() as session, session.begin():
            row = await self._load(session, for_update=True)
            if not self._stale(row, rejected):
                return row.credentials
            tokens = await self.oauth.refresh(row.refresh_token)
            creds = await self._write(session, tokens, row.version)
            return Credentials(
                creds.access_token, creds.api_domain or row.api_domain, creds.version
            )

    async def _claim_lease(self, version: int) -> bool:
        now = utcnow()
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(
                update(PipedriveInstallation)
                .where(
                    PipedriveInstallation.id == self.installation_id,
                    PipedriveInstallation.token_version == version,
                    or_(
                        PipedriveInstallation.refresh_lease_until.is_(None),
                        PipedriveInstallation.refresh_lease_until < now,
                    ),
                )
                .values(refresh_lease_until=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    async def _release_lease(self, version: int) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(PipedriveInstallation)
                .where(
                    PipedriveInstallation.id == self.installation_id,
                    PipedriveInstallation.token_version == version,
                )
                .values(refresh_lease_until=None)
                .execution_options(synchronize_session=False)
            )

    async def _refresh_with_lease(self, row: _Row, rejected: str | None) -> Credentials:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LEASE_WAIT_SECONDS
        while True:
            if await self._claim_lease(row.version):
                try:
                    tokens = await self.oauth.refresh(row.refresh_token)
                except BaseException:
                    await self._release_lease(row.version)
                    raise
                async with self.sessionmaker() as session, session.begin():
                    creds = await self._write(session, tokens, row.version)
                return Credentials(
                    creds.access_token, creds.api_domain or row.api_domain, creds.version
                )
            # Another process holds the lease (or already bumped the version): wait for it.
            await asyncio.sleep(LEASE_POLL_SECONDS)
            async with self.sessionmaker() as session:
                row = await self._load(session)
            if not self._stale(row, rejected):
                return row.credentials
            if loop.time() > deadline:
                raise PipedriveUnavailable(
                    "another worker has been refreshing this user's Pipedrive token for too "
                    "long; try again shortly"
                )
