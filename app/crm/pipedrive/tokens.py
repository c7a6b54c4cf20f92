"""Access tokens of one installation, refreshed ahead of expiry and at most once at a time.

The guards (an in-process lock per installation; across processes a PostgreSQL row lock, or
on SQLite a compare-and-swap lease on ``token_version``) are the shared
``app.kit.refresher.TokenRefresher``; this module is only the installation row's storage.

Pipedrive does not rotate refresh tokens, so a duplicate refresh would not break anything; the
guards exist to spare the company's rate budget and keep one writer per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.crm.pipedrive.errors import PipedriveAuthError, PipedriveUnavailable
from app.crm.pipedrive.models import PipedriveInstallation
from app.crm.pipedrive.oauth import PipedriveOAuth
from app.db import utcnow
from app.kit.oauth import TokenSet
from app.kit.refresher import InvalidGrant, LeasePolicy, TokenRefresher

# Refresh this long before expiry so that a request never starts with a dying token.
REFRESH_MARGIN = timedelta(minutes=5)
LEASE_POLICY = LeasePolicy(
    lease=timedelta(seconds=30),
    wait_for_other=timedelta(seconds=20),
    poll_initial=0.1,
    poll_max=0.1,
)


def _busy() -> Exception:
    return PipedriveUnavailable(
        "another worker has been refreshing this user's Pipedrive token for too long; "
        "try again shortly"
    )


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


class InstallationTokens:
    """Tokens of one ``PipedriveInstallation``; reads and writes go through their own sessions
    so that a refresh commits at once, independent of the request's unit of work. Also the
    installation's ``TokenStore`` for the shared refresher."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        oauth: PipedriveOAuth,
        installation_id: str,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.oauth = oauth
        self.installation_id = installation_id
        self.key = installation_id
        self.refreshes = 0
        # The row as last read or written through this object. Bound: one row, of this one
        # installation (so never another company's). An object lives for one request or job,
        # and the row is used only while it is good for REFRESH_MARGIN; a 401 reads again
        # (``after_rejection``). It spares the database read per Pipedrive call that made up
        # a good part of a draft's CPU (six calls per draft, issue 17).
        self._known: _Row | None = None
        self._refresher: TokenRefresher[_Row] = TokenRefresher(sessionmaker, LEASE_POLICY, _busy)

    @staticmethod
    def _stale(row: _Row, rejected: str | None) -> bool:
        if rejected is not None and row.access_token == rejected:
            return True
        return row.expires_at - utcnow() < REFRESH_MARGIN

    def remember(self, installation: PipedriveInstallation) -> InstallationTokens:
        """Start from ``installation`` as just read by the caller (its own row: the id must
        match), so that the first call needs no read of its own."""
        if installation.id == self.installation_id and installation.access_token:
            self._known = _Row(
                installation.access_token,
                installation.refresh_token or "",
                installation.expires_at,
                installation.api_domain,
                installation.token_version,
                installation.refresh_lease_until,
            )
        return self

    async def current(self) -> Credentials:
        """A token good for at least REFRESH_MARGIN, refreshing first when needed."""
        known = self._known
        if known is not None and not self._stale(known, None):
            return known.credentials
        return await self._ensure(rejected=None)

    async def after_rejection(self, rejected: str) -> Credentials:
        """Pipedrive answered 401 to ``rejected``: refresh unless someone already did."""
        return await self._ensure(rejected=rejected)

    async def _ensure(self, rejected: str | None) -> Credentials:
        row = await self._refresher.ensure(self, lambda row: self._stale(row, rejected))
        self._known = row
        return row.credentials

    # --- TokenStore ----------------------------------------------------------------------------

    def version(self, row: _Row) -> int:
        return row.version

    async def load(self, session: AsyncSession, *, for_update: bool = False) -> _Row:
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

    async def claim_lease(self, session: AsyncSession, version: int, until: datetime) -> bool:
        result = await session.execute(
            update(PipedriveInstallation)
            .where(
                PipedriveInstallation.id == self.installation_id,
                PipedriveInstallation.token_version == version,
                or_(
                    PipedriveInstallation.refresh_lease_until.is_(None),
                    PipedriveInstallation.refresh_lease_until < utcnow(),
                ),
            )
            .values(refresh_lease_until=until)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def release_lease(self, session: AsyncSession, version: int) -> None:
        await session.execute(
            update(PipedriveInstallation)
            .where(
                PipedriveInstallation.id == self.installation_id,
                PipedriveInstallation.token_version == version,
            )
            .values(refresh_lease_until=None)
            .execution_options(synchronize_session=False)
        )

    async def fetch(self, row: _Row) -> TokenSet:
        # A refused refresh raises PipedriveAuthError (reinstall), not InvalidGrant: the
        # refresher then releases the lease and the row keeps its version.
        return await self.oauth.refresh(row.refresh_token)

    async def invalid_grant(
        self, session: AsyncSession, row: _Row, exc: InvalidGrant, *, locked: bool
    ) -> _Row | Exception:
        return PipedriveAuthError(f"Pipedrive refused to refresh: {exc.message}")

    async def save(self, session: AsyncSession, row: _Row, tokens: TokenSet) -> _Row:
        now = utcnow()
        values: dict[str, object] = {
            "access_token": tokens.access_token,
            "expires_at": tokens.expires_at,
            "token_version": row.version + 1,
            "refresh_lease_until": None,
            "updated_at": now,
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
                PipedriveInstallation.token_version == row.version,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 1) != 1:
            raise PipedriveUnavailable("the Pipedrive tokens changed during refresh; try again")
        self.refreshes += 1
        return _Row(
            tokens.access_token,
            tokens.refresh_token or row.refresh_token,
            tokens.expires_at,
            str(values.get("api_domain") or row.api_domain),
            row.version + 1,
            None,
        )
