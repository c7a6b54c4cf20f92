"""What our stack itself costs per operation on this machine (issue 17): the floor under the
create and draft paths that no change of ours goes below while the stack stays.

In one run, each measured as CPU time per operation (process CPU, not wall time):
- inbound: uvicorn (httptools, uvloop) + FastAPI serving a JSON answer of about 1 KB through
  one header dependency, as `invoicing serve` runs; the server is a child process and its CPU
  is read from /proc;
- outbound: httpx2's AsyncClient sending those requests and parsing the JSON (this process);
- SQL through SQLAlchemy's async ORM over the migrated schema, on SQLite (aiosqlite, its
  thread included) and PostgreSQL (asyncpg): a row by primary key in an open session; a
  session opened, one row read, closed; a row inserted and committed;
- Fernet (a token decrypted) and a signed JWT verified (joserfc), as each request does.

Then the floor of one create and one draft from the statement and call counts the create
bench and the SQL trace give (bench/README.md), beside the 5 ms target. Prints numbers;
asserts nothing.

    .venv/bin/python bench/stack_floor.py [--requests 2000] [--statements 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from joserfc import jwt  # noqa: E402
from joserfc.jwk import OctKey  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from app.cli import migrate  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.db import create_engine, create_sessionmaker, utcnow  # noqa: E402
from app.tenants.models import AuditEvent, Company  # noqa: E402
from bench._app_process import load_line, tree_cpu  # noqa: E402
from bench._support import free_port  # noqa: E402
from tests.support.database import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
    sqlite_url,
)

# Statements, commits and outbound calls per operation, from the SQL trace of one QuickBooks
# create (bench/README.md, "The fourth pass"): the request, then its changelog-note job (the
# dispatcher's claim included).
CREATE = {"inbound": 1, "statements": 13, "commits": 2, "outbound": 1}
NOTE_JOB = {"inbound": 0, "statements": 7, "commits": 2, "outbound": 1}
DRAFT = {"inbound": 1, "statements": 8, "commits": 0, "outbound": 7}

SERVER = """
import sys
from fastapi import Depends, FastAPI, Header
import uvicorn
app = FastAPI()
def who(x_session_token: str = Header("")) -> str:
    return x_session_token
@app.get("/floor/{n}")
async def floor(n: int, token: str = Depends(who)) -> dict:
    return {"n": n, "token": token[:8], "lines": [{"id": i, "name": "x" * 40} for i in range(15)]}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False)
"""


async def http_floor(requests: int) -> tuple[float, float]:
    """(server ms of CPU per request, client ms of CPU per request) at concurrency 10."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(100):
                try:
                    await http.get("/floor/0")
                    break
                except httpx2.TransportError:
                    await asyncio.sleep(0.1)
            queue = list(range(requests))

            async def worker() -> None:
                while queue:
                    queue.pop()
                    (await http.get("/floor/1", headers={"X-Session-Token": "t" * 200})).json()

            await asyncio.gather(*(worker() for _ in range(10)))  # warm
            queue = list(range(requests))
            server_cpu, client_cpu = tree_cpu(server.pid), time.process_time()
            await asyncio.gather(*(worker() for _ in range(10)))
            client = time.process_time() - client_cpu
            served = tree_cpu(server.pid) - server_cpu
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 1000 * served / requests, 1000 * client / requests


async def cpu_per(count: int, one: Any) -> float:
    """ms of this process's CPU (every thread) per ``one()``."""
    started = time.process_time()
    for _ in range(count):
        await one()
    return 1000 * (time.process_time() - started) / count


async def sql_floor(database_url: str, var_dir: Path, count: int) -> dict[str, float]:
    settings = load_settings(app_env="test", database_url=database_url, var_dir=var_dir)
    await asyncio.to_thread(migrate, settings)
    engine = create_engine(settings)
    maker: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
    company_id = str(uuid.uuid4())
    async with maker() as session:
        session.add(Company(id=company_id, pipedrive_company_id=9_000_001, name="Floor"))
        await session.commit()
    results: dict[str, float] = {}
    async with maker() as session:

        async def by_key() -> None:
            await session.get(Company, company_id, populate_existing=True)

        await cpu_per(100, by_key)
        results["select by key"] = await cpu_per(count, by_key)

    async def session_read() -> None:
        async with maker() as session:
            await session.get(Company, company_id)

    await cpu_per(100, session_read)
    results["session + select"] = await cpu_per(count, session_read)

    async def insert_commit() -> None:
        async with maker() as session:
            session.add(AuditEvent(company_id=company_id, action="bench.floor", at=utcnow()))
            await session.commit()

    await cpu_per(100, insert_commit)
    results["insert + commit"] = await cpu_per(count // 2, insert_commit)
    await engine.dispose()
    return results


async def crypto_floor(count: int) -> dict[str, float]:
    fernet = Fernet(Fernet.generate_key())
    token = fernet.encrypt(b"a" * 400)
    key = OctKey.import_key(os.urandom(32))
    signed = jwt.encode({"alg": "HS256"}, {"sub": "u", "exp": int(time.time()) + 600}, key)

    async def decrypt() -> None:
        fernet.decrypt(token)

    async def verify() -> None:
        jwt.decode(signed, key, algorithms=["HS256"])

    return {
        "Fernet decrypt": await cpu_per(count, decrypt),
        "JWT verify": await cpu_per(count, verify),
    }


def floor_of(shape: dict[str, int], http: tuple[float, float], sql: dict[str, float]) -> float:
    inbound, outbound = http
    per_statement = sql["select by key"]
    per_commit = max(0.0, sql["insert + commit"] - sql["session + select"])
    return (
        shape["inbound"] * inbound
        + shape["outbound"] * outbound
        + shape["statements"] * per_statement
        + shape["commits"] * per_commit
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--statements", type=int, default=2000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    print(f"machine at start: {load_line()}")
    http = await http_floor(args.requests)
    print(f"inbound  (uvicorn + FastAPI, 1 KB JSON): {http[0]:.2f} ms CPU per request")
    print(f"outbound (httpx2 GET + JSON):           {http[1]:.2f} ms CPU per request")
    databases = {}
    with tempfile.TemporaryDirectory() as tmp:
        databases["SQLite"] = await sql_floor(sqlite_url(Path(tmp)), Path(tmp), args.statements)
        if not args.skip_postgres:
            base = os.environ.get(
                "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
            )
            try:
                url = await create_postgres_database(base)
            except Exception as exc:  # no server: say so and go on with SQLite
                print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")
            else:
                try:
                    databases["PostgreSQL"] = await sql_floor(url, Path(tmp), args.statements)
                finally:
                    await drop_postgres_database(url)
    for name, numbers in databases.items():
        shown = ", ".join(f"{k} {v:.2f} ms" for k, v in numbers.items())
        print(f"SQL on {name} (ORM, CPU per operation): {shown}")
    for name, value in (await crypto_floor(args.statements)).items():
        print(f"{name}: {value:.3f} ms")
    for name, numbers in databases.items():
        create = floor_of(CREATE, http, numbers) + floor_of(NOTE_JOB, http, numbers)
        draft = floor_of(DRAFT, http, numbers)
        print(
            f"floor on {name}: a create {create:.1f} ms of CPU (request {CREATE}, note job "
            f"{NOTE_JOB}), a draft {draft:.1f} ms ({DRAFT}); target 5 ms each "
            f"= {5 / create:.2f} and {5 / draft:.2f} of these floors"
        )
    print(f"machine at end: {load_line()}")


if __name__ == "__main__":
    asyncio.run(main())
