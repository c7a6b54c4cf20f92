"""Alembic is the only way the schema is made: no drift, and down-then-up works."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import app.models  # noqa: F401
from app.cli import migrate
from app.db import Base, create_engine
from app.health import alembic_config, head_revision


def _diff(sync_conn):
    context = MigrationContext.configure(
        sync_conn, opts={"compare_type": True, "render_as_batch": True}
    )
    return compare_metadata(context, Base.metadata)


async def test_models_and_migrations_do_not_drift(settings):
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


@pytest.fixture
async def scratch_settings(settings, tmp_path):
    """A second, throw-away database of the same backend for destructive migration tests."""
    from tests.support.database import (
        create_postgres_database,
        drop_postgres_database,
        is_postgres,
        requested_url,
    )

    if is_postgres(requested_url()):
        url = await create_postgres_database(requested_url())
        yield settings.model_copy(update={"database_url": url})
        await drop_postgres_database(url)
    else:
        yield settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path}/s.db"})


async def test_downgrade_to_base_and_up_again(scratch_settings):
    config = alembic_config(scratch_settings.database_url)
    await asyncio.to_thread(migrate, scratch_settings)
    await asyncio.to_thread(command.downgrade, config, "base")
    engine = create_engine(scratch_settings)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await asyncio.to_thread(migrate, scratch_settings)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            diff = await conn.run_sync(_diff)
        assert {"company", "crm_user"} <= set(tables)
        assert diff == []
    finally:
        await engine.dispose()


def test_single_head():
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == [head_revision()], f"several migration heads: {heads}"
