"""The changelog and per-role actions in Debian's Chromium: an invoice's Changelog opens in
the panel inside the sandbox Pipedrive's deal page; Sam Sales (a regular user) is offered
neither Approve nor Delete; the admin page filters and turns deal notes off."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.tenants.handoff import issue_handoff
from tests.invoices.conftest import installed
from tests.invoices.helpers import body, create, draft

pytestmark = pytest.mark.browser


async def made(client: Any, who: Any) -> dict[str, Any]:
    d = await draft(client, who.headers, 31, "xero")
    response = await create(client, who.headers, 31, body(d))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_changelog_in_the_panel_and_on_the_admin_page(
    app_server: str,
    browser: Any,
    client: Any,
    northwind: Any,
    sandbox: Any,
    sessionmaker: Any,
    settings: Any,
) -> None:
    approved = await made(client, northwind)
    done = await client.post(
        f"/api/v1/deals/31/invoices/{approved['id']}/actions/AUTHORISED",
        headers={**northwind.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert done.status_code == 200, done.text
    await installed(client, sandbox, sessionmaker, 102)
    await made(client, northwind)
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # Nora opens the approved invoice's changelog in the panel inside Pipedrive.
        await page.goto(f"{settings.sandbox_url}/pipedrive/c/northwind/deal/31?user_id=101")
        frame = page.frame_locator("#panel")
        entry = frame.locator(f'[data-invoice="{approved["id"]}"]')
        await entry.locator("summary", has_text="Changelog").click()
        events = entry.locator(".changelog-events li")
        await events.first.wait_for(timeout=15000)
        assert await events.count() == 2
        assert "approved in Xero" in await events.nth(0).inner_text()
        assert "Nora Admin" in await events.nth(1).inner_text()
        # Nora is offered Approve and Delete on the draft; Sam Sales is offered neither.
        await frame.locator('[data-action="DELETED"]').first.wait_for()
        await page.goto(f"{settings.sandbox_url}/pipedrive/c/northwind/deal/31?user_id=102")
        frame = page.frame_locator("#panel")
        await frame.locator('[data-action="SUBMITTED"]').first.wait_for(timeout=15000)
        for hidden in ("AUTHORISED", "DELETED", "VOIDED"):
            assert await frame.locator(f'[data-action="{hidden}"]').count() == 0

        # The admin page: every event, a deal filter, and the notes switch.
        token = issue_handoff(settings, northwind.user)
        response = await page.goto(f"{app_server}/changelog?handoff={token}")
        assert response is not None and response.status == 200
        assert await page.locator("tr[data-event]").count() == 3
        await page.fill("#filter-deal", "32")
        await page.click("#filter-apply")
        await page.locator("#no-events").wait_for()
        await page.fill("#filter-deal", "31")
        await page.click("#filter-apply")
        await page.locator('tr[data-event="approved"]').wait_for()
        assert await page.locator("tr[data-event]").count() == 3
        await page.click("#notes-switch")
        await page.locator("#notes-saved", has_text="Off: saved.").wait_for()
    finally:
        await context.close()
    assert errors == []
    listed = (await client.get("/api/v1/changelog", headers=northwind.headers)).json()
    assert listed["total"] == 3
