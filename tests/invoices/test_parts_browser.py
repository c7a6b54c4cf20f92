"""Issue 16 in Debian's Chromium: the Create invoice dialog invoices a 30 % deposit of a deal
and says what remains; the balance then takes exactly the rest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.tenants.handoff import issue_handoff
from tests.invoices.test_money_words_browser import open_page
from tests.invoices.test_panel_browser import real_errors, shot

pytestmark = pytest.mark.browser


def amount(text: str) -> Decimal:
    return Decimal(text.replace("NZ$", "").replace(",", "").strip())


async def open_dialog(page: Any, app_server: str, token: str) -> None:
    await page.goto(f"{app_server}/pipedrive/panel?selectedIds=31&handoff={token}")
    await page.select_option("#provider-choice", "xero")
    await page.click("#create-button")
    await page.wait_for_selector("#total-total", timeout=15000)


async def test_dialog_creates_a_thirty_percent_deposit_and_shows_remaining(
    app_server: str, browser: Any, northwind: Any, settings: Any, client: Any
) -> None:
    context, page, errors = await open_page(browser)
    try:
        await open_dialog(page, app_server, issue_handoff(settings, northwind.user))
        whole = amount(await page.locator("#total-subtotal").inner_text())
        await page.select_option("#part-mode", "percent")
        await page.fill("#part-value", "30")
        await page.fill("#part-label", "Deposit 30 %")
        # Leave the field first: clicking Create straight from a text field whose change
        # starts the live review sends no create (the same with the Reference field on main;
        # reported to the lead, not this issue's to fix).
        await page.locator("#part-label").blur()
        await page.wait_for_timeout(600)
        await page.click("#submit-invoice")
        created = page.locator("#created-state")
        await created.wait_for(timeout=20000)
        remaining = amount(await page.locator("#created-remaining").inner_text())
        deposit = (whole * Decimal("0.3")).quantize(Decimal("0.01"))
        assert remaining == whole - deposit
        await shot(page, "parts-31-deposit")
        # The deal panel's list says it too, and names the part.
        await page.locator("#panel-remaining").wait_for(state="attached", timeout=15000)
        assert amount(await page.locator("#panel-remaining").inner_text()) == remaining
        assert "Deposit 30 %" in await page.locator("#invoice-list").inner_text()
        # Opened again: the deal says what is invoiced and what is left, part by part.
        await open_dialog(page, app_server, issue_handoff(settings, northwind.user))
        summary = await page.locator("#billing-summary").inner_text()
        assert amount(await page.locator("#billing-remaining").inner_text()) == remaining
        assert "Invoiced so far" in summary
        assert "Deposit 30 %" in await page.locator("#billing-parts").inner_text()
        await page.select_option("#part-mode", "balance")
        await page.click("#submit-invoice")
        await page.locator("#created-state").wait_for(timeout=20000)
        assert amount(await page.locator("#created-remaining").inner_text()) == 0
        # Nothing is left: a further 10 % is refused beside the part, naming the amounts.
        await open_dialog(page, app_server, issue_handoff(settings, northwind.user))
        await page.select_option("#part-mode", "percent")
        await page.fill("#part-value", "10")
        await page.locator("#part-value").blur()
        await page.wait_for_timeout(600)
        await page.click("#submit-invoice")
        refused = page.locator("#slot-part", has_text="more than the NZ$0.00 left")
        await refused.wait_for(timeout=15000)
        assert await page.locator("#created-state").count() == 0
        assert real_errors(errors) == [], errors
    finally:
        await context.close()
    listed = (await client.get("/api/v1/deals/31/billing", headers=northwind.headers)).json()
    assert Decimal(listed["invoiced"]) == whole and Decimal(listed["remaining"]) == 0
