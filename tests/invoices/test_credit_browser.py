"""Crediting from the deal panel in a real browser: Credit… opens the form under the
invoice, an amount typed in the user's locale makes one credit note, and the invoice then
shows what is credited (no script error on the way)."""

from __future__ import annotations

from typing import Any

import pytest

from app.tenants.handoff import issue_handoff
from tests.invoices.test_credits import made
from tests.invoices.test_panel_browser import real_errors

pytestmark = pytest.mark.browser


async def test_credit_an_amount_from_the_panel(
    app_server: str, browser: Any, northwind: Any, settings: Any, client: Any
) -> None:
    invoice = await made(client, northwind.headers, "xero")
    token = issue_handoff(settings, northwind.user)
    context = await browser.new_context(viewport={"width": 420, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        await page.goto(f"{app_server}/pipedrive/panel?selectedIds=31&handoff={token}")
        row = page.locator(f'[data-invoice="{invoice["id"]}"]')
        await row.locator('[data-action="CREDIT"]').click()
        form = row.locator("form.credit-form")
        await form.wait_for(timeout=15000)
        await form.locator('input[name="mode"][value="amount"]').check()
        await form.locator('input[name="amount"]').fill("12.50")
        await form.locator('[data-action="CREDIT-SEND"]').click()
        await page.locator("#action-notice", has_text="Credit note").wait_for(timeout=15000)
        row = page.locator(f'[data-invoice="{invoice["id"]}"]')
        assert "Credited" in await row.inner_text()
        credits = await client.get(
            f"/api/v1/deals/31/invoices/{invoice['id']}/credits", headers=northwind.headers
        )
        assert [c["total"] for c in credits.json()] == ["12.50"]
        assert real_errors(errors) == [], errors
    finally:
        await context.close()
