"""A fresh, migrated database per test run: a temp SQLite file, or a new PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from pathlib import Path

import asyncpg
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import Base

POSTGRES_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def requested_url() -> str:
    return os.environ.get("DATABASE_URL", "").strip()


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


async def create_postgres_database(base_url: str) -> str:
    """Create `<db>_<random>` next to the given database and return its URL."""
    url = make_url(base_url)
    name = f"{url.database or 'test'}_{os.getpid()}_{secrets.token_hex(3)}"
    conn = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(db_url: str) -> None:
    url = make_url(db_url)
    conn = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database="postgres",
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await conn.close()


def sqlite_url(directory: Path | None = None) -> str:
    directory = directory or Path(tempfile.mkdtemp(prefix="invoicing-test-"))
    return f"sqlite+aiosqlite:///{directory / 'test.db'}"


async def empty_all_tables(engine: AsyncEngine) -> None:
    """Delete every row (children first) so that each test starts from an empty schema."""
    import app.models  # noqa: F401

    if engine.dialect.name == "postgresql":
        await truncate_postgres(engine)
        return
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(delete(table))


async def truncate_postgres(engine: AsyncEngine, attempts: int = 6) -> None:
    """TRUNCATE every table. A job still finishing from the previous test can hold row
    locks in the opposite order to TRUNCATE's table locks; PostgreSQL then aborts one of
    the two as a deadlock. When it picks ours, wait for the job to finish and try again."""
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    for attempt in range(attempts):
        await settle(engine)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {names} CASCADE"))
            return
        except DBAPIError as exc:
            if "deadlock" not in str(exc) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))


async def settle(engine: AsyncEngine, timeout: float = 3.0) -> None:
    """Give work still in flight (an install's webhook registration job, a webhook being
    stored) a moment to finish: on PostgreSQL another open transaction and TRUNCATE's table
    locks can deadlock. Bounded: a stuck transaction only delays the TRUNCATE."""
    busy = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with engine.connect() as conn:
            if not await conn.scalar(busy):
                return
        await asyncio.sleep(0.05)
