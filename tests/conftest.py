"""Test harness: a migrated database per run, the app over ASGI, rows emptied after each test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import migrate
from app.config import Settings, load_settings
from app.db import create_engine
from app.kit.ratelimit import forget_local_budgets
from app.main import create_app
from app.tenants.models import Company, CrmUser
from app.tenants.service import issue_session_token
from sandbox.app import create_sandbox_app
from sandbox.config import SandboxSettings
from tests.support.browser import browser, page  # noqa: F401 - fixtures
from tests.support.database import (
    create_postgres_database,
    drop_postgres_database,
    empty_all_tables,
    is_postgres,
    requested_url,
    sqlite_url,
)
from tests.support.sandbox import SandboxControl
from tests.support.servers import ServerThread, free_port


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    base = requested_url()
    if is_postgres(base):
        url = await create_postgres_database(base)
        try:
            yield url
        finally:
            await drop_postgres_database(url)
    else:
        yield sqlite_url(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    """Ports chosen up front: the app and the sandbox must know each other's URLs."""
    return {"app": free_port(), "sandbox": free_port()}


@pytest.fixture(scope="session")
async def settings(database_url: str, var_dir: Path, ports: dict[str, int]) -> Settings:
    settings = load_settings(
        app_env="test",
        database_url=database_url,
        var_dir=var_dir,
        public_url=f"http://127.0.0.1:{ports['app']}",
        sandbox_url=f"http://127.0.0.1:{ports['sandbox']}",
        log_format="console",
        log_level="WARNING",
        # Retries within a test's patience; the schedule and leases as in production.
        job_backoff_seconds=0.05,
        # Periodic catch-up would read the sandbox in the middle of tests that count requests;
        # the sync tests record catch-ups themselves.
        catch_up_minutes=0,
        # Circuits off: many tests fault a stand-in several times and expect the next call to
        # reach it; tests/invoices/test_circuit.py turns them on (``circuits_on``).
        circuit_failures=0,
        # Likewise the intent reconciler: tests that leave intents unknown on purpose resolve
        # them themselves; the reconciler's tests run its job.
        intent_reconciler=False,
    )
    await asyncio.to_thread(migrate, settings)
    return settings


@pytest.fixture(scope="session")
def sandbox_server(settings: Settings, var_dir: Path, ports: dict[str, int]) -> Iterator[str]:
    """The stand-ins on a real port, state in a temp SQLite file, quick webhook retries."""
    config = SandboxSettings.from_app(
        settings, db_path=var_dir / "sandbox.db", webhook_retry_delays=(0.2, 0.5)
    )
    server = ServerThread(create_sandbox_app(config, reset=True), ports["sandbox"]).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def sandbox(sandbox_server: str) -> AsyncIterator[SandboxControl]:
    """A reset, demo-seeded sandbox for this test, driven over HTTP."""
    async with httpx2.AsyncClient(base_url=sandbox_server, timeout=30) as http:
        control = SandboxControl(http)
        await control.reset(seed="demo")
        yield control


@pytest.fixture(scope="session")
def app_server(settings: Settings, ports: dict[str, int]) -> Iterator[str]:
    """The product on a real port, for browsers, webhooks and cross-process tests.

    Its own app instance: the server thread runs its own event loop and lifespan, so sharing
    the ``app`` fixture would swap that app's engine and HTTP client for ones bound to the
    server's loop (on PostgreSQL: "attached to a different loop" in every later test).
    """
    server = ServerThread(create_app(settings), ports["app"]).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    # Our call budgets start a fresh window with each test, as the stand-ins' limits do.
    await forget_local_budgets()
    yield
    if "settings" in request.fixturenames:
        settings: Settings = request.getfixturevalue("settings")
        engine = create_engine(settings)
        try:
            await empty_all_tables(engine)
        finally:
            await engine.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def db(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


MakeUser = Callable[..., Awaitable[CrmUser]]


@pytest.fixture
def make_user(sessionmaker: async_sessionmaker[AsyncSession]) -> MakeUser:
    """Create a company (by Pipedrive id) if needed and a user in it; returns the user."""

    async def _make(
        pipedrive_company_id: int = 1001,
        pipedrive_user_id: int = 1,
        is_admin: bool = True,
        name: str = "Ada Admin",
        **extra: Any,
    ) -> CrmUser:
        from sqlalchemy import select

        async with sessionmaker() as session:
            company = (
                await session.execute(
                    select(Company).where(Company.pipedrive_company_id == pipedrive_company_id)
                )
            ).scalar_one_or_none()
            if company is None:
                company = Company(
                    pipedrive_company_id=pipedrive_company_id,
                    domain=f"company{pipedrive_company_id}",
                    name=f"Company {pipedrive_company_id}",
                )
                session.add(company)
                await session.flush()
            user = CrmUser(
                company_id=company.id,
                pipedrive_user_id=pipedrive_user_id,
                name=name,
                email=f"user{pipedrive_user_id}@company{pipedrive_company_id}.test",
                is_admin=is_admin,
                **extra,
            )
            session.add(user)
            await session.commit()
            return user

    return _make


@pytest.fixture
def auth_headers(settings: Settings) -> Callable[[CrmUser], dict[str, str]]:
    def _headers(user: CrmUser) -> dict[str, str]:
        return {"X-Session-Token": issue_session_token(settings, user)}

    return _headers
