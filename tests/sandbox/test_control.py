"""The sandbox's control API: clock, faults, request log."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest


async def test_clock_moves_forward_only(sandbox):
    before = (await sandbox.http.get("/_sandbox/clock")).json()["offset_seconds"]
    after = await sandbox.advance(1800)
    assert after["offset_seconds"] == before + 1800
    refused = await sandbox.http.post("/_sandbox/clock/advance", json={"seconds": -5})
    assert refused.status_code == 422


async def test_status_fault_applies_count_times_and_is_logged(sandbox):
    await sandbox.fault(kind="status", path="^/nowhere", status=503, count=1)
    first = await sandbox.http.get("/nowhere")
    second = await sandbox.http.get("/nowhere")
    assert first.status_code == 503
    assert second.status_code == 404
    log = await sandbox.requests("/nowhere")
    assert [e["fault"] for e in log] == ["status", None]


async def test_rate_limit_fault_carries_retry_after(sandbox):
    await sandbox.fault(kind="rate_limit", path="^/limited", retry_after=7)
    response = await sandbox.http.get("/limited")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


async def test_dropped_connection_is_a_protocol_error(sandbox):
    await sandbox.fault(kind="drop", path="^/cut")
    with pytest.raises(httpx2.HTTPError):
        await sandbox.http.get("/cut")


@pytest.mark.parametrize("kind", ["timeout", "commit_then_timeout"])
async def test_timeout_faults_answer_nothing_until_the_caller_hangs_up(sandbox, kind):
    await sandbox.fault(kind=kind, path="^/hang", count=1)
    async with httpx2.AsyncClient(base_url=sandbox.url, timeout=0.3) as impatient:
        with pytest.raises(httpx2.ReadTimeout):
            await impatient.get("/hang")
    # The stand-in stops waiting once the caller has gone (not after its 120 s): the logged
    # request gets its duration when the handler ends.
    for _ in range(50):
        (entry,) = await sandbox.requests("/hang")
        if entry["duration_ms"]:
            break
        await asyncio.sleep(0.1)
    assert entry["fault"] == kind and entry["duration_ms"] > 0
    assert (await sandbox.http.get("/hang")).status_code == 404


async def test_unknown_fault_kind_is_refused(sandbox):
    response = await sandbox.http.post("/_sandbox/faults", json={"kind": "meteor"})
    assert response.status_code == 422


async def test_the_control_docs_load_swagger_from_our_own_files(sandbox: Any) -> None:
    page = await sandbox.http.get("/_sandbox/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/_sandbox/vendor/swagger-ui-bundle.js" in page.text
    script = await sandbox.http.get("/_sandbox/vendor/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 10_000


async def test_bench_seed_writes_quickbooks_companies_that_can_be_connected(sandbox):
    seeded = await sandbox.http.post("/_sandbox/seed", params={"name": "bench", "companies": 4})
    assert seeded.status_code == 200, seeded.text
    realms = [r["realm_id"] for r in seeded.json()["quickbooks"]["realms"]]
    assert len(set(realms)) == 4 and "9130350000000001" not in realms
    for realm in realms:
        approved = await sandbox.http.post(
            "/_sandbox/quickbooks/auto-approve", json={"realm_id": realm}
        )
        assert approved.status_code == 200, approved.text
    assert len(seeded.json()["pipedrive"]["companies"]) == 4


async def test_unknown_seeds_and_bench_sizes_are_refused(sandbox):
    unknown = await sandbox.http.post("/_sandbox/seed", params={"name": "everything"})
    assert unknown.status_code == 404 and "bench" in unknown.text
    for companies in (0, 201):
        refused = await sandbox.http.post(
            "/_sandbox/seed", params={"name": "bench", "companies": companies}
        )
        assert refused.status_code == 422
