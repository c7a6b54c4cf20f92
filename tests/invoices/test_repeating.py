"""Recurring schedules held at the provider (issue 16 item 3): a monthly product billed in
Xero becomes one DRAFT repeating invoice at Xero (its create valid against Xero's OpenAPI,
once even when its first answer is lost, once however often it is started); the sandbox
clock moved a month at a time over 14 months makes 12 draft invoices at Xero, never 13, and
none from our worker; pause is refused (Xero cannot edit one), stop deletes it; a quarterly
product stays on our worker schedule; another company's schedule is 404."""

from __future__ import annotations

from typing import Any

import httpx2

from app.connections.tokens import TokenService
from app.invoices.models import BillingSchedule
from tests.invoices.helpers import until
from tests.invoices.test_intents import xero_invoices
from tests.invoices.test_recurring import (
    MONTH,
    invoices_of,
    run_now,
    sandbox_clock,
    schedule_row,
)
from tests.providers.xero_openapi import validate_xero_request, xero_spec


async def subscription_deal(sandbox: Any, frequency: str, cycles: int | None = 12) -> int:
    """A new deal of Northwind (Acme Ltd) billing a support plan ``frequency``, from today."""
    now = (await sandbox.http.get("/_sandbox/clock")).json()["now"][:10]
    line = {
        "product_id": 5,
        "billing_frequency": frequency,
        "billing_frequency_cycles": cycles,
        "billing_start_date": now,
    }
    made = await sandbox.http.post(
        "/_sandbox/pipedrive/deals",
        json={
            "company_id": 7001,
            "title": f"Support ({frequency})",
            "org_id": 11,
            "currency": "NZD",
            "expected_close_date": now,
            "products": [line],
        },
    )
    assert made.status_code == 201, made.text
    return int(made.json()["deal"]["id"])


async def validate_logged(sandbox: Any, suffix: str, method: str) -> list[dict[str, Any]]:
    """The stand-in's log of ``method`` requests to paths ending in ``suffix``, each
    validated against Xero's official OpenAPI."""
    xero_spec()
    found = [
        e
        for e in await sandbox.requests(suffix)
        if e["method"] == method and e["path"].endswith(suffix)
    ]
    for entry in found:
        prefix = entry["path"][: entry["path"].index("/api.xro/2.0") + len("/api.xro/2.0")]
        url = f"{sandbox.url}{entry['path']}" + (f"?{entry['query']}" if entry["query"] else "")
        request = httpx2.Request(
            method, url, headers=entry["headers"], content=entry["body"].encode()
        )
        validate_xero_request(request, f"{sandbox.url}{prefix}")
    return found


async def start(client: Any, headers: Any, deal_id: int, provider: str) -> Any:
    started = await client.post(
        f"/api/v1/deals/{deal_id}/schedules", params={"provider": provider}, headers=headers
    )
    assert started.status_code == 201, started.text
    return started.json()


async def test_monthly_xero_schedule_is_one_repeating_invoice_of_twelve_drafts(
    client, northwind, contoso, sandbox, sessionmaker, app
):
    deal_id = await subscription_deal(sandbox, "monthly")
    dialog = await client.get(
        f"/pipedrive/panel/{deal_id}/dialog", params={"provider": "xero"}, headers=northwind.headers
    )
    assert 'data-repeating="monthly,weekly"' in dialog.text
    assert "quarterly, semi-annually, annually) are billed by our own schedule" in dialog.text
    app.state.clock = sandbox_clock(sandbox)
    await sandbox.clear_requests()
    # Performed at Xero, the answer lost: the adapter's retry under the same Idempotency-Key
    # gets the first repeating invoice back, not a second one.
    await sandbox.fault(kind="commit_then_fail", count=1, method="PUT", path=r"/RepeatingInvoices$")
    try:
        (schedule,) = await start(client, northwind.headers, deal_id, "xero")
        await sandbox.clear_faults()
        assert schedule["held_at_provider"] and schedule["provider_schedule_id"]
        assert (schedule["cycles"], schedule["status"]) == (12, "active")
        # Started again (the dialog's button): the same schedule, no new call to Xero.
        (again,) = await start(client, northwind.headers, deal_id, "xero")
        assert again["id"] == schedule["id"]
        assert again["provider_schedule_id"] == schedule["provider_schedule_id"]
        puts = await validate_logged(sandbox, "/RepeatingInvoices", "PUT")
        # The lost answer and its replay: two PUTs, one key, one repeating invoice.
        assert [p["fault"] for p in puts] == ["commit_then_fail", None]
        assert len({p["headers"]["idempotency-key"] for p in puts}) == 1
        body = puts[0]["body"]
        assert '"Status":"DRAFT"' in body.replace(" ", "") and '"Unit":"MONTHLY"' in body.replace(
            " ", ""
        )
        panel = await client.get(f"/pipedrive/panel/{deal_id}/invoices", headers=northwind.headers)
        assert "Repeating invoice in Xero" in panel.text and "next on" in panel.text
        assert 'data-action="PAUSE"' not in panel.text
        base = f"/api/v1/deals/{deal_id}/schedules/{schedule['id']}"
        paused = await client.post(f"{base}/pause", headers=northwind.headers)
        assert paused.status_code == 409 and "cannot be edited" in paused.json()["error"]["message"]
        assert (await client.post(f"{base}/stop", headers=contoso.headers)).status_code == 404
        theirs = await client.post(
            f"/api/v1/deals/{deal_id}/schedules",
            params={"provider": "xero"},
            headers=contoso.headers,
        )
        assert theirs.status_code == 404
        company = northwind.user.company_id
        made: list[Any] = []
        for _ in range(14):
            # Our worker is asked too: a provider-held schedule is never its to run.
            await run_now(sessionmaker, company, schedule["id"])
            made = [
                i
                for i in await xero_invoices(app, company, await template_contact(app, schedule))
                if "(monthly, 12 times)" in (i.reference or "")
            ]
            assert len(made) <= 12
            await sandbox.advance(MONTH)
        assert len(made) == 12 and {i.status for i in made} == {"DRAFT"}
        assert len({i.issue_date for i in made}) == 12
        assert await invoices_of(sessionmaker, deal_id) == 0
        row = await schedule_row(sessionmaker, schedule["id"])
        assert (row.periods_done, row.status) == (0, "active")
        stopped = await client.post(f"{base}/stop", headers=northwind.headers)
        assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
        gone = await read_template(app, company, schedule["provider_schedule_id"])
        assert gone.status == "DELETED"
    finally:
        app.state.clock = None
        await sandbox.clear_faults()


async def template_contact(app: Any, schedule: dict[str, Any]) -> str:
    async with app.state.sessionmaker() as session:
        row = await session.get(BillingSchedule, schedule["id"])
        assert row is not None
    found = await read_template(app, row.company_id, schedule["provider_schedule_id"])
    assert found.contact_id
    return found.contact_id


async def read_template(app: Any, company_id: str, ident: str) -> Any:
    tokens = TokenService(app.state.settings, app.state.sessionmaker, app.state.http)
    adapter = tokens.facade("xero").adapter
    return await tokens.call(company_id, "xero", lambda c: adapter.get_repeating_invoice(c, ident))


async def test_quarterly_stays_on_our_worker_and_stop_works(
    client, northwind, contoso, sandbox, sessionmaker, app
):
    deal_id = await subscription_deal(sandbox, "quarterly", cycles=4)
    await sandbox.clear_requests()
    app.state.clock = sandbox_clock(sandbox)
    app.state.settings.recurring_billing = False
    try:
        (schedule,) = await start(client, northwind.headers, deal_id, "xero")
        assert not schedule["held_at_provider"] and schedule["provider_schedule_id"] is None
        assert await sandbox.requests("/RepeatingInvoices") == []
        panel = await client.get(f"/pipedrive/panel/{deal_id}/invoices", headers=northwind.headers)
        assert "Repeating invoice in Xero" not in panel.text and 'data-action="PAUSE"' in panel.text
        await run_now(sessionmaker, northwind.user.company_id, schedule["id"])

        async def first() -> bool:
            return await invoices_of(sessionmaker, deal_id) == 1

        await until(first, timeout=60)
        listed = await client.get(f"/api/v1/deals/{deal_id}/schedules", headers=contoso.headers)
        assert listed.status_code == 404
    finally:
        app.state.clock = None
        app.state.settings.recurring_billing = True
