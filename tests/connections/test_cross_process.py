"""One refresh at a time across processes: this process and a second one, both finding the
token at its expiry at the same moment, together make exactly one refresh.

PostgreSQL serialises them with SELECT ... FOR UPDATE; SQLite with the compare-and-swap lease
on token_version. Both backends run this test.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.connections.conftest import TOKEN_PATH
from tests.connections.test_tokens import expire, refreshes

ROOT = Path(__file__).resolve().parents[2]


def _env(settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "APP_ENV": "test",
            "DATABASE_URL": settings.database_url,
            "SECRET_KEY": settings.secret_key,
            "TOKEN_KEYS": settings.token_keys,
            "PUBLIC_URL": settings.public_url,
            "SANDBOX_URL": settings.sandbox_url or "",
            "VAR_DIR": str(settings.var_dir),
            "XERO_CLIENT_ID": settings.xero.client_id,
            "XERO_CLIENT_SECRET": settings.xero.client_secret,
            "QUICKBOOKS_CLIENT_ID": settings.quickbooks.client_id,
            "QUICKBOOKS_CLIENT_SECRET": settings.quickbooks.client_secret,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


async def test_two_processes_at_expiry_make_one_refresh(
    flow, make_user, sandbox, sessionmaker, tokens, settings
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    await sandbox.clear_requests()
    await expire(sandbox, sessionmaker, admin.company_id)
    # A slow token endpoint: both processes are sure to find the expiring token before the
    # first refresh returns, so only the cross-process lock can keep it to one.
    await sandbox.fault(kind="latency", latency_ms=700, path=TOKEN_PATH["xero"])

    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests" / "connections" / "refresh_worker.py"),
        admin.company_id,
        "xero",
        "10",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=_env(settings),
        cwd=str(ROOT),
    )
    try:
        assert worker.stdin is not None and worker.stdout is not None
        ready = await asyncio.wait_for(worker.stdout.readline(), timeout=60)
        assert ready.strip() == b"ready"
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
        facade = tokens.facade("xero")
        ours = await asyncio.gather(
            *(tokens.call(admin.company_id, "xero", facade.organisation) for _ in range(10))
        )
        line = b""
        while not line.startswith(b"{"):  # skip any log line the worker wrote
            line = await asyncio.wait_for(worker.stdout.readline(), timeout=120)
            assert line, "the worker ended without a summary"
        theirs = json.loads(line)
    finally:
        if worker.returncode is None:
            await asyncio.wait_for(worker.wait(), timeout=30)

    assert {o.name for o in ours} == {"Northwind Traders NZ"}
    assert theirs["errors"] == [] and theirs["ok"] == 10
    assert theirs["names"] == ["Northwind Traders NZ"]
    assert len(await refreshes(sandbox)) == 1
    organisation_calls = await sandbox.requests(path="/api.xro/2.0/Organisation")
    assert len(organisation_calls) == 20
    assert {r["status"] for r in organisation_calls} == {200}
