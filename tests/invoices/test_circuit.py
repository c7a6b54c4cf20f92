"""A provider organisation that keeps failing is paused: creates fail fast without calling it,
the deal panel and the Create invoice dialog say until when, a trial call after the cool-down
closes it again, and a validation refusal is an answer, not a failure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.connections.repository import ConnectionRepository
from tests.connections.conftest import XERO_AU
from tests.invoices.helpers import body, create, draft


@pytest.fixture
def circuits_on(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Circuits as in production (5 failures in a row, 30 s pause); each test may shorten the
    cool-down. The adapters are rebuilt after the change, so theirs follow it."""

    def turn_on(failures: int = 5, cool_down: float = 30.0) -> None:
        settings = app.state.settings
        monkeypatch.setattr(settings, "circuit_failures", failures)
        monkeypatch.setattr(settings, "circuit_cool_down_seconds", cool_down)
        app.state.providers = None

    return turn_on


def xero_writes(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["path"].endswith("/Invoices") and r["method"] == "PUT"]


def xero_calls(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["path"].startswith("/xero/api")]


async def paused_at_xero(app: Any, company: Any) -> Any:
    """The pause of the company's Xero organisation, as the app's adapter sees it."""
    async with app.state.sessionmaker() as session:
        row = await ConnectionRepository(session, company.user.company_id).live("xero")
    assert row is not None
    return await app.state.providers["xero"].paused(row.tenant_id)


async def open_the_circuit(client: Any, company: Any, sandbox: Any, payload: Any) -> None:
    """Xero answers every create with a 500 until the circuit opens (5 failures in a row:
    the first create's 4 attempts, then the next create's first)."""
    await sandbox.fault(kind="status", status=500, path="/Invoices$", method="PUT", count=200)
    first = await create(client, company.headers, 31, payload)
    assert first.status_code == 503 and first.json()["error"]["code"] == "outcome_unknown"
    await sandbox.clear_requests()
    second = await create(client, company.headers, 31, payload)
    assert second.status_code == 503 and second.json()["error"]["code"] == "outcome_unknown"
    # The failure that opened the circuit ended that create's retries at once.
    assert len(xero_writes(await sandbox.requests())) == 1


async def test_after_failures_in_a_row_creates_fail_fast_and_the_panel_says_so(
    client: Any, northwind: Any, sandbox: Any, app: Any, circuits_on: Any
) -> None:
    circuits_on()
    d = await draft(client, northwind.headers, 31, "xero")
    payload = body(d)
    await open_the_circuit(client, northwind, sandbox, payload)
    await sandbox.clear_requests()
    # Five waiting requests, each its own invoice: all refused at once, none reaches Xero.
    refused = await asyncio.gather(
        *(create(client, northwind.headers, 31, payload) for _ in "12345")
    )
    for answer in refused:
        assert answer.status_code == 503, answer.text
        error = answer.json()["error"]
        assert error["code"] == "provider_circuit_open" and error["provider"] == "xero"
        assert error["message"].startswith("Xero has failed 5 times in a row; we paused calls")
        assert error["paused_until"] in error["message"]
        assert 1 <= int(answer.headers["Retry-After"]) <= 30
    assert xero_calls(await sandbox.requests()) == []
    paused = await paused_at_xero(app, northwind)
    assert paused is not None and paused.failures >= 5
    # The deal panel and the dialog say it, with the time calls resume.
    page = await client.get(
        "/pipedrive/panel", params={"selectedIds": 31}, headers=northwind.headers
    )
    assert page.status_code == 200
    assert f'Xero is failing; calls paused until <time datetime="{paused.until_iso}">' in page.text
    assert 'id="paused-xero"' in page.text and 'id="paused-quickbooks"' not in page.text
    dialog = await client.get(
        "/pipedrive/panel/31/dialog", params={"provider": "xero"}, headers=northwind.headers
    )
    # The dialog either opens with the notice, or (when its draft needs Xero) says it instead.
    assert dialog.status_code in (200, 503)
    assert "Xero is failing; calls paused until" in dialog.text or (
        "Xero has failed 5 times in a row; we paused calls to it" in dialog.text
    ), dialog.text
    # QuickBooks, another provider of the same company, is not held back.
    qb = await draft(client, northwind.headers, 31, "quickbooks")
    made = await create(client, northwind.headers, 31, body(qb))
    assert made.status_code == 201, made.text


async def test_after_the_cool_down_one_trial_call_closes_the_circuit(
    client: Any, northwind: Any, sandbox: Any, app: Any, circuits_on: Any
) -> None:
    # A cool-down of 0: the call after the one that opened it is the trial (no waiting).
    circuits_on(failures=2, cool_down=0)
    d = await draft(client, northwind.headers, 31, "xero")
    payload = body(d)
    await sandbox.fault(kind="status", status=500, path="/Invoices$", method="PUT", count=200)
    failed = await create(client, northwind.headers, 31, payload)
    assert failed.status_code == 503
    assert len(xero_writes(await sandbox.requests())) == 2  # the second failure opened it
    # The trial fails too: one call went out, and it is open again.
    await sandbox.clear_requests()
    trial = await create(client, northwind.headers, 31, payload)
    assert trial.status_code == 503
    assert len(xero_writes(await sandbox.requests())) == 1
    # Xero is back: the trial goes through and closes the circuit.
    await sandbox.clear_faults()
    made = await create(client, northwind.headers, 31, payload)
    assert made.status_code == 201, made.text
    assert await paused_at_xero(app, northwind) is None
    # Closed means counting from zero: one more 500 is a retried failure, not a pause.
    await sandbox.fault(kind="status", status=500, path="/Invoices$", method="PUT", count=1)
    await sandbox.clear_requests()
    again = await create(client, northwind.headers, 31, payload)
    assert again.status_code == 201, again.text
    assert len(xero_writes(await sandbox.requests())) == 2


async def test_a_validation_refusal_is_an_answer_not_a_failure(
    client: Any, northwind: Any, sandbox: Any, app: Any, circuits_on: Any
) -> None:
    circuits_on()
    d = await draft(client, northwind.headers, 31, "xero")
    payload = body(d)
    await sandbox.fault(kind="status", status=500, path="/Invoices$", method="PUT", count=4)
    first = await create(client, northwind.headers, 31, payload)
    assert first.status_code == 503  # four failures in a row, one short of a pause
    # Xero refuses an invoice (an unknown item): it answered, so the row of failures ends.
    refused_payload = body(d)
    refused_payload["lines"] = [
        {
            "description": "Advisory",
            "quantity": "1",
            "unit_price": "100",
            "tax_code": "OUTPUT2",
            "item_code": "NO-SUCH-ITEM",
            "kind": "manual",
        }
    ]
    for _ in range(6):
        refused = await create(client, northwind.headers, 31, refused_payload)
        assert refused.status_code == 422, refused.text
    assert await paused_at_xero(app, northwind) is None
    # Four more 500s are again four retried attempts, not cut short by a pause.
    await sandbox.fault(kind="status", status=500, path="/Invoices$", method="PUT", count=4)
    await sandbox.clear_requests()
    again = await create(client, northwind.headers, 31, payload)
    assert again.status_code == 503 and again.json()["error"]["code"] == "outcome_unknown"
    assert len(xero_writes(await sandbox.requests())) == 4
    assert await paused_at_xero(app, northwind) is None


async def test_another_organisation_is_not_paused(
    client: Any, northwind: Any, contoso: Any, sandbox: Any, app: Any, circuits_on: Any, flow: Any
) -> None:
    circuits_on()
    # Contoso connects Xero too, to its own organisation (the Australian one).
    done = await flow.xero(contoso.user, tenant_ids=(XERO_AU,))
    assert done.status_code in (200, 303), done.text
    d = await draft(client, northwind.headers, 31, "xero")
    await open_the_circuit(client, northwind, sandbox, body(d))
    assert await paused_at_xero(app, northwind) is not None
    assert await paused_at_xero(app, contoso) is None
    await sandbox.clear_requests()
    found = await client.get(
        "/api/v1/providers/xero/contacts", params={"q": "a"}, headers=contoso.headers
    )
    assert found.status_code == 200, found.text
    assert xero_calls(await sandbox.requests())
    page = await client.get("/pipedrive/panel", params={"selectedIds": 31}, headers=contoso.headers)
    assert "is failing; calls paused" not in page.text
