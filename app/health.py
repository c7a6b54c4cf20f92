"""Liveness and readiness: is the process up; can it serve (database, schema, token keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import Base
from app.kit.crypto import EncryptedString, TokenKeyError

ROOT = Path(__file__).resolve().parent.parent

router = APIRouter(tags=["health"])


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url)
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        has_table = await conn.run_sync(lambda c: inspect(c).has_table("alembic_version"))
        if not has_table:
            return None
        row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
        return row[0] if row else None


def encrypted_columns() -> list[tuple[Any, Any]]:
    """Every (table, column) whose type is EncryptedString, found from the metadata."""
    import app.models  # noqa: F401 - the whole schema, whoever imported what

    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedString):
                found.append((table, column))
    return found


async def check_token_keys(engine: AsyncEngine) -> None:
    """Decrypt the newest value of every encrypted column; raises TokenKeyError naming it."""
    async with engine.connect() as conn:
        for table, column in encrypted_columns():
            try:
                # Fetching the row runs the column's decryption.
                result = await conn.execute(select(column).where(column.is_not(None)).limit(1))
                result.first()
            except TokenKeyError as exc:
                raise TokenKeyError(
                    f"{table.name}.{column.name} holds a token encrypted with a key that is no "
                    "longer in TOKEN_KEYS: put the old key back after the new one"
                ) from exc


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database answers, the schema is at the newest migration, and tokens decrypt."""
    engine: AsyncEngine = request.app.state.engine
    checks: dict[str, str] = {}
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    head, current = head_revision(), await current_revision(engine)
    if current != head:
        checks["migrations"] = (
            f"database at {current or 'no revision'}, code at {head}: run `invoicing migrate`"
        )
    else:
        checks["migrations"] = "ok"
        try:
            await check_token_keys(engine)
            checks["token_keys"] = "ok"
        except TokenKeyError as exc:
            checks["token_keys"] = exc.message
    ok = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )
