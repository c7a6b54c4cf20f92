"""Issue 14 in Debian's Chromium: the Create invoice dialog reads numbers in the user's locale,
says what QuickBooks would change before sending, words it as QuickBooks does, shows the
timezone of its dates; and a panel message belongs to the action that caused it."""

from __future__ import annotations

from typing import Any

import pytest

from app.tenants.handoff import issue_handoff
from tests.invoices.helpers import body, create, draft
from tests.invoices.test_panel_browser import real_errors, shot, until

pytestmark = pytest.mark.browser


async def open_page(browser: Any, width: int = 900) -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return context, page, errors


async def test_quickbooks_dialog_numbers_tax_wording_and_dates(
    app_server: str, browser: Any, northwind: Any, settings: Any
) -> None:
    token = issue_handoff(settings, northwind.user)
    context, page, errors = await open_page(browser)
    try:
        await page.goto(f"{app_server}/pipedrive/panel?selectedIds=31&handoff={token}")
        await page.select_option("#provider-choice", "quickbooks")
        await page.click("#create-button")
        await page.wait_for_selector("#total-total", timeout=15000)
        dialog = page.locator("#invoice-dialog")
        text = await dialog.inner_text()
        # QuickBooks has no drafts: the dialog does not promise one (item 5).
        assert await page.locator("#submit-invoice").inner_text() == "Create invoice in QuickBooks"
        assert "as a draft" not in text
        # Which timezone the dates are in (item 9).
        assert "Dates are in Pacific/Auckland time" in text
        # The tax QuickBooks would apply, both totals, which line, before sending (item 2).
        line_slot = page.locator("#slot-line-0")
        assert "NZ$6,549.13 instead of the deal's NZ$6,957.50" in await line_slot.inner_text()
        assert "Line 1 (Consulting hour)" in await line_slot.inner_text()
        total = await page.locator("#total-total").inner_text()

        # A decimal comma where commas group thousands (en_NZ) is refused, not read as 15
        # (item 1).
        await page.fill("#l0-quantity", "1,5")
        await line_slot.filter(has_text="could mean 15 or 1.5").wait_for(timeout=10000)
        await shot(page, "qbo-31-ambiguous")
        await page.fill("#l0-quantity", "10")
        await line_slot.filter(has_not_text="could mean").wait_for(timeout=10000)
        assert await page.locator("#total-total").inner_text() == total

        # Not confirmed: nothing is created, the message says what to do.
        await page.click("#submit-invoice")
        await page.locator("#slot-line-0", has_text="confirm the difference").wait_for()
        assert await page.locator("#created-state").count() == 0
        await page.check("#accept-tax-difference")
        await until(page, "document.getElementById('accept-tax-difference').checked")
        await page.wait_for_timeout(600)  # let the live review settle: the box stays ticked
        assert await page.is_checked("#accept-tax-difference")
        await page.click("#submit-invoice")
        created = page.locator("#created-state")
        await created.wait_for(timeout=20000)
        words = await created.inner_text()
        assert "status Open" in words and "as a open" not in words and "NZ$6,549.13" in words
        await shot(page, "qbo-31-created")
        assert real_errors(errors) == [], errors
    finally:
        await context.close()


async def test_a_share_link_replaces_the_previous_actions_message(
    app_server: str, browser: Any, northwind: Any, settings: Any, client: Any
) -> None:
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d))
    assert made.status_code == 201, made.text
    row = made.json()
    approved = await client.post(
        f"/pipedrive/panel/31/invoices/{row['id']}/actions/AUTHORISED", headers=northwind.headers
    )
    assert approved.status_code == 200
    token = issue_handoff(settings, northwind.user)
    context, page, errors = await open_page(browser, 420)
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        await page.goto(f"{app_server}/pipedrive/panel?selectedIds=31&handoff={token}")
        invoice = page.locator(".invoice").first
        await invoice.locator('[data-action="EMAIL"]').click()
        await page.locator("#action-notice", has_text="sent by email").wait_for(timeout=15000)
        await page.locator(".invoice").first.locator('[data-action="URL"]').click()
        await page.locator(".share-link input").wait_for(timeout=15000)
        await until(page, "!document.getElementById('action-notice')")
        await shot(page, "share-after-email")
        assert real_errors(errors) == [], errors
    finally:
        await context.close()
