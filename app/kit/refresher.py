"""One token refresher for every OAuth party: at most one refresh at a time per token row,
across the coroutines of a process and across processes.

How one refresh at a time is guaranteed:

* in one process, an asyncio lock per row: callers that find the token expiring queue behind
  one refresh and then read its result;
* across processes on PostgreSQL, ``SELECT ... FOR UPDATE`` on the row for the duration of the
  token call: a second process blocks, then sees the new version;
* across processes on SQLite (no row locks), a lease claimed by compare-and-swap on the row's
  version: ``UPDATE ... SET lease WHERE version = :seen AND lease expired``. Whoever loses the
  swap waits for the version to move.

The rotated token set is committed in its own transaction before any caller uses it. What a
refresh means for one kind of row (how to read it, call the token endpoint, store the answer,
and what ``invalid_grant`` does to it) is the ``TokenStore`` the caller passes in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import AppError

S = TypeVar("S")


class InvalidGrant(AppError):
    """The token endpoint refused the refresh token or code (``invalid_grant``)."""

    status_code = 409
    code = "invalid_grant"


class TokenStore(Protocol[S]):
    """The storage specifics of one token row, as the refresher needs them.

    ``S`` is the store's own snapshot of the row; every method gets a session the refresher
    opened and will commit.
    """

    key: str

    def version(self, row: S) -> int:
        """The row's token version (bumped by every rotation)."""
        ...

    async def load(self, session: AsyncSession, *, for_update: bool = False) -> S:
        """The row, locked when ``for_update``; raises when it is gone or unusable."""
        ...

    async def claim_lease(self, session: AsyncSession, version: int, until: datetime) -> bool:
        """Take the refresh lease if the version is still ``version`` and no lease holds."""
        ...

    async def release_lease(self, session: AsyncSession, version: int) -> None: ...

    async def fetch(self, row: S) -> Any:
        """Call the token endpoint; raise ``InvalidGrant`` when the grant is refused."""
        ...

    async def save(self, session: AsyncSession, row: S, tokens: Any) -> S:
        """Store the rotation (version + 1, lease cleared); return the new snapshot."""
        ...

    async def invalid_grant(
        self, session: AsyncSession, row: S, exc: InvalidGrant, *, locked: bool
    ) -> S | Exception:
        """The grant was refused: a usable snapshot (someone else rotated meanwhile), or the
        error to raise once the session has committed (the row marked as it must be)."""
        ...


@dataclass(frozen=True)
class LeasePolicy:
    """SQLite only: how long a lease holds and how long a loser waits for the winner."""

    lease: timedelta
    wait_for_other: timedelta
    poll_initial: float
    poll_max: float


_locks: dict[tuple[int, str], asyncio.Lock] = {}


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_lock(key: str) -> asyncio.Lock:
    """The in-process lock of one token row."""
    # Keyed by loop too: a lock is bound to the event loop that first waits on it.
    loop_key = (id(asyncio.get_running_loop()), key)
    lock = _locks.get(loop_key)
    if lock is None:
        lock = _locks[loop_key] = asyncio.Lock()
    return lock


class TokenRefresher(Generic[S]):
    """Refreshes one kind of token row; ``busy`` is the error for a lease held too long."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        policy: LeasePolicy,
        busy: Callable[[], Exception],
        *,
        lock: Callable[[str], asyncio.Lock] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.policy = policy
        self.busy = busy
        self.lock = lock

    async def ensure(self, store: TokenStore[S], needs_refresh: Callable[[S], bool]) -> S:
        """The row, refreshed first when ``needs_refresh`` says so (checked again under every
        guard: whoever waited may find the work done)."""
        async with self.sessionmaker() as session:
            row = await store.load(session)
            postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
        if not needs_refresh(row):
            return row
        # Looked up per call, so a test can stand in for a second process's lock.
        lock = self.lock or local_lock
        async with lock(store.key):
            if postgres:
                return await self._locked(store, needs_refresh)
            return await self._leased(store, needs_refresh)

    async def _locked(self, store: TokenStore[S], needs_refresh: Callable[[S], bool]) -> S:
        """PostgreSQL: hold the row lock across the token call; commit the rotation."""
        failure: Exception | None = None
        async with self.sessionmaker() as session, session.begin():
            row = await store.load(session, for_update=True)
            if not needs_refresh(row):
                return row
            try:
                tokens = await store.fetch(row)
            except InvalidGrant as exc:
                # The row is locked: no other process can have rotated it meanwhile.
                outcome = await store.invalid_grant(session, row, exc, locked=True)
                if not isinstance(outcome, Exception):
                    return outcome
                failure = outcome
            else:
                row = await store.save(session, row, tokens)
        # The transaction has committed here: the rotation is durable before anyone uses it.
        if failure is not None:
            raise failure
        return row

    async def _claim(
        self, store: TokenStore[S], needs_refresh: Callable[[S], bool]
    ) -> tuple[S, str]:
        """One try at the lease: the row and ``claimed``, ``held`` (another process has it) or
        ``done`` (no refresh is needed any more)."""
        async with self.sessionmaker() as session:
            row = await store.load(session)
            if not needs_refresh(row):
                return row, "done"
            until = utcnow() + self.policy.lease
            claimed = await store.claim_lease(session, store.version(row), until)
            await session.commit()
        return row, "claimed" if claimed else "held"

    async def _leased(self, store: TokenStore[S], needs_refresh: Callable[[S], bool]) -> S:
        """SQLite: claim a lease by compare-and-swap on the version, refresh, swap back."""
        deadline = utcnow() + self.policy.wait_for_other
        delay = self.policy.poll_initial
        while True:
            row, state = await self._claim(store, needs_refresh)
            if state == "done":
                return row
            if state == "claimed":
                break
            # Another process holds the lease: wait for its rotation to appear.
            if utcnow() > deadline:
                raise self.busy()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.policy.poll_max)
        return await self._refresh_claimed(store, row)

    async def _refresh_claimed(self, store: TokenStore[S], row: S) -> S:
        version = store.version(row)
        try:
            tokens = await store.fetch(row)
        except InvalidGrant as exc:
            async with self.sessionmaker() as session:
                outcome = await store.invalid_grant(session, row, exc, locked=False)
                await session.commit()
            if isinstance(outcome, Exception):
                raise outcome from exc
            return outcome
        except BaseException:
            async with self.sessionmaker() as session:
                await store.release_lease(session, version)
                await session.commit()
            raise
        async with self.sessionmaker() as session:
            row = await store.save(session, row, tokens)
            await session.commit()
        return row
