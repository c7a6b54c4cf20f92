"""The crash run of ``bench/crash.py``, smaller and asserted: creates with distinct keys while
the app and the worker are SIGKILLed and restarted, then recovery by the reconciler alone.
After it, every intent is resolved, and the provider's invoices are exactly the created
intents' (through their markers): no duplicates, no orphans."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.crash import run
from tests.support.database import (
    create_postgres_database,
    drop_postgres_database,
    is_postgres,
    requested_url,
    sqlite_url,
)


# Six process restarts and the reconciler's recovery (bounded at 180 s by the run itself) on a
# busy CI machine: past the suite's 120 s default, and an interrupted run would leave its
# tasks behind on the shared event loop.
@pytest.mark.timeout(300)
async def test_creates_survive_sigkills_of_the_app_and_the_worker(tmp_path: Path) -> None:
    base = requested_url()
    url = await create_postgres_database(base) if is_postgres(base) else sqlite_url(tmp_path)
    try:
        report = await run(
            url, tmp_path, creates=30, kills=3, latency_ms=50, window=6, lease=2, check=1, seed=7
        )
    finally:
        if is_postgres(base):
            await drop_postgres_database(url)
    outcome = report.outcome
    # A request that died with the app before its intent was recorded is not an intent (the
    # client stops retrying at the last kill): every other key is one.
    assert 0 < outcome["intents"] <= 30, report.lines()
    assert outcome["open"] == 0, report.lines()
    assert outcome["created"] + outcome["failed"] == outcome["intents"]
    assert outcome["failed"] == 0, report.lines()
    assert outcome["provider_invoices"] == outcome["created"], report.lines()
    assert outcome["duplicates"] == 0 and outcome["orphans"] == 0, report.lines()
