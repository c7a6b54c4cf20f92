"""Injected faults answer in Xero's shape; state survives a restart of the sandbox."""

from __future__ import annotations

import httpx2
import pytest

from sandbox.app import create_sandbox_app
from sandbox.config import SandboxSettings
from sandbox.oauth import Client
from tests.sandbox.xero.conftest import API, CLIENT_ID, CLIENT_SECRET, NZ, REDIRECT_URI, Xero


async def test_injected_429_and_500_look_like_xero(xero, http):
    await http.post(
        "/_sandbox/faults",
        json={
            "kind": "rate_limit",
            "path": "/Invoices$",
            "retry_after": 9,
            "problem": "day",
            "count": 1,
        },
    )
    limited = await xero.get("/Invoices")
    assert limited.status_code == 429
    assert (
        limited.headers["retry-after"] == "9" and limited.headers["x-rate-limit-problem"] == "day"
    )
    assert limited.json()["Title"] == "Too Many Requests"
    await http.post(
        "/_sandbox/faults", json={"kind": "status", "path": "/Invoices$", "status": 503, "count": 1}
    )
    broken = await xero.get("/Invoices")
    assert broken.status_code == 503 and broken.json()["Status"] == 503
    assert (await xero.get("/Invoices")).status_code == 200


async def test_commit_then_fail_writes_but_loses_the_answer(xero, http, sandbox_state):
    before = len(sandbox_state.store.all("xero:invoice", scope=NZ))
    await http.post(
        "/_sandbox/faults",
        json={"kind": "commit_then_fail", "path": "/Invoices$", "method": "PUT", "count": 1},
    )
    with pytest.raises((httpx2.HTTPError, OSError)):
        # Over ASGI the cut connection surfaces as the server-side error itself.
        await xero.create_invoice()
    assert len(sandbox_state.store.all("xero:invoice", scope=NZ)) == before + 1


async def test_state_and_tokens_survive_a_restart(tmp_path):
    settings = SandboxSettings(
        public_url="http://sandbox.test",
        db_path=str(tmp_path / "sandbox.db"),
        xero_client=Client(CLIENT_ID, CLIENT_SECRET, (REDIRECT_URI,)),
    )
    first = create_sandbox_app(settings, reset=True, seed="demo")
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=first), base_url="http://sandbox.test"
    ) as http:
        xero = Xero(http)
        await xero.connect()
        created = (await xero.create_invoice()).json()["Invoices"][0]
    first.state.sandbox.store.close()
    second = create_sandbox_app(settings)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=second), base_url="http://sandbox.test"
    ) as http:
        answer = await http.get(f"{API}/Invoices/{created['InvoiceID']}", headers=xero.headers())
        assert answer.status_code == 200
        assert answer.json()["Invoices"][0]["InvoiceNumber"] == created["InvoiceNumber"]
        xero.http = http
        assert (await xero.refresh()).status_code == 200


async def test_seeding_twice_keeps_the_demo_world_as_it_is(http, sandbox_state):
    again = (await http.post("/_sandbox/seed", params={"name": "demo"})).json()
    assert again["xero"]["already_seeded"] is True
    numbers = sorted(i["InvoiceNumber"] for i in sandbox_state.store.all("xero:invoice", scope=NZ))
    assert numbers == ["INV-0001", "INV-0002", "INV-0003", "INV-0004"]
