"""Database plumbing: metadata conventions, aware timestamps, engine and sessions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend; SQLite keeps UTC and gets the zone back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def new_uuid() -> str:
    return str(uuid.uuid4())


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine for DATABASE_URL (SQLite with WAL and foreign keys, or asyncpg)."""
    kwargs: dict[str, Any] = {}
    if settings.database_backend == "sqlite":
        path = settings.database_url.split(":///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A pool of open connections: with none (NullPool, until issue 17) every session
        # opened the file, started aiosqlite's thread and ran the pragmas below, four times
        # per invoice created, about half of a create's CPU. Up to 20 stay open (one idle
        # thread each); past that, overflow without a limit as NullPool had (a request holds
        # its session's connection while it waits on a provider, so a limit would turn many
        # concurrent requests into pool timeouts). SQLite still serialises writers itself
        # (busy_timeout); a connection goes back to the pool rolled back.
        kwargs["pool_size"] = 20
        kwargs["max_overflow"] = -1
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 20
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(settings.database_url, **kwargs)
    if settings.database_backend == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts the database and survives a process crash; it
            # skips the fsync per commit (a power cut may lose the last commits, which the
            # providers' idempotency keys cover for invoice creation).
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block ends cleanly, roll back otherwise."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def insert_ignoring_conflicts(
    session: AsyncSession,
    table: Any,
    values: dict[str, Any] | list[dict[str, Any]],
    conflict: Sequence[str],
) -> Any:
    """``INSERT ... ON CONFLICT (conflict) DO NOTHING`` on SQLite and PostgreSQL alike, for one
    row (a dict) or many (a list).

    Used where a unique key is the deduplication (webhook events, keyed jobs): the loser of a
    race inserts nothing instead of failing its transaction.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # A list inserts many rows in one statement; add ``.returning(...)`` to learn which went in.
    return insert(table).values(values).on_conflict_do_nothing(index_elements=conflict)
