"""Workers across processes through Redis: a job taken by a worker killed mid-job runs again
and its effect happens once. Uses its own database so the test process's in-process
machinery (which polls the suite's database) cannot take the job first."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.cli import migrate
from app.config import Settings, load_settings
from app.db import create_engine, create_sessionmaker
from app.tenants.models import AuditEvent
from app.worker.models import Job, JobStatus
from app.worker.outbox import enqueue
from tests.support.database import (
    create_postgres_database,
    drop_postgres_database,
    is_postgres,
    requested_url,
)

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_up() -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", 6379), 1)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


@pytest.fixture
async def own_database(tmp_path: Path) -> AsyncIterator[str]:
    base = requested_url()
    if is_postgres(base):
        url = await create_postgres_database(base)
        try:
            yield url
        finally:
            await drop_postgres_database(url)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'redis-jobs.db'}"


def worker_env(settings: Settings, database_url: str, queue: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "JOB_QUEUE": queue,
            # Short leases: a dead worker's job is redelivered after half of this.
            "JOB_LEASE_SECONDS": "4",
            "WORKER_POLL_SECONDS": "0.2",
            "TOKEN_KEYS": settings.token_keys,
            "SECRET_KEY": settings.secret_key,
            "VAR_DIR": str(settings.var_dir),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


async def start_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "worker",
        "--imports",
        "tests.worker.jobs",
        env=env,
        cwd=str(ROOT),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_a_job_whose_worker_was_killed_runs_again_with_its_effect_once(
    settings: Settings, own_database: str, tmp_path: Path
) -> None:
    if not await redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    await asyncio.to_thread(
        migrate,
        load_settings(
            app_env="test",
            database_url=own_database,
            token_keys=settings.token_keys,
            var_dir=settings.var_dir,
        ),
    )
    engine = create_engine(
        load_settings(
            app_env="test",
            database_url=own_database,
            token_keys=settings.token_keys,
            var_dir=settings.var_dir,
        )
    )
    maker = create_sessionmaker(engine)
    env = worker_env(settings, own_database, f"invoicing:test:{uuid.uuid4().hex}")
    marker = tmp_path / "starts.txt"
    tag = uuid.uuid4().hex
    first = await start_worker(env)
    second = None
    try:
        async with maker() as session:
            await enqueue(session, "tests.slow", tag=tag, marker=str(marker), seconds=3.0)
            await session.commit()

        async def started() -> bool:
            return marker.exists() and marker.read_text().count("started") >= 1

        await wait_until(started, 60, "the first worker to start the job")
        first.send_signal(signal.SIGKILL)
        await first.wait()
        second = await start_worker(env)

        async def done() -> bool:
            async with maker() as session:
                job = (await session.scalars(select(Job).where(Job.name == "tests.slow"))).one()
            return job.status == JobStatus.done.value

        await wait_until(done, 60, "the job to be run again and finish")
        async with maker() as session:
            rows = (await session.scalars(select(AuditEvent))).all()
        assert sum(1 for r in rows if r.details.get("tag") == tag) == 1
        # It ran again after the kill (a late redelivery may even start it once more, and
        # then loses its lease): the effect above is what must happen once.
        assert marker.read_text().count("started") >= 2
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.terminate()
                await proc.wait()
        await engine.dispose()
