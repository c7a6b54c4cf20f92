"""The deal panel's contact parts in Debian's Chromium: refresh, the "…" menu (Settings
through Pipedrive's REDIRECT_TO for an admin, the read-only summary for a sales rep, Unlink
contact after Pipedrive's confirmation), the totals, View all with a custom range, and
linking and unlinking an invoice made in Xero."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from app.tenants.handoff import issue_handoff
from tests.invoices.conftest import installed
from tests.invoices.test_contact_invoices import link_acme
from tests.invoices.test_panel_browser import real_errors

pytestmark = pytest.mark.browser


async def opened(browser: Any, url: str) -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(viewport={"width": 420, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(url)
    return context, page, errors


async def test_refresh_view_all_with_a_range_link_and_unlink(
    app_server: str, browser: Any, northwind: Any, settings: Any, client: Any
) -> None:
    await link_acme(client, northwind)
    token = issue_handoff(settings, northwind.user)
    context, page, errors = await opened(
        browser, f"{app_server}/pipedrive/panel?selectedIds=31&handoff={token}"
    )
    try:
        # The contact's totals load after the list, with the bar.
        card = page.locator("#contact-card")
        await card.wait_for(timeout=15000)
        assert await page.locator("#contact-name").inner_text() == "Acme Ltd"
        await page.select_option("#totals-range", "all")
        await page.locator('.totals-row[data-currency="NZD"]').wait_for(timeout=10000)
        assert await page.locator(".totals-bar .bar-paid").count() == 1
        # Refresh: the sync runs, the list says so, the totals reload.
        await page.click("#refresh-button")
        await page.locator("#action-notice", has_text="Up to date.").wait_for(timeout=15000)
        # View all, then a custom range that holds the seeded invoices (last month).
        await page.click("#view-all-button")
        await page.locator("#view-all-card").wait_for(timeout=10000)
        start, end = date.today() - timedelta(days=400), date.today() + timedelta(days=30)
        await page.fill("#view-from", start.isoformat())
        await page.fill("#view-to", end.isoformat())
        await page.select_option("#view-range", "custom")
        await page.locator("#view-all-count", has_text="4 invoices").wait_for(timeout=10000)
        # A range that ends before it starts is refused in place, the filters kept.
        await page.fill("#view-from", (end + timedelta(days=1)).isoformat())
        await page.click("#view-show")
        await page.locator("#view-all-error", has_text="after it ends").wait_for(timeout=10000)
        assert await page.locator("#view-range").input_value() == "custom"
        await page.fill("#view-from", start.isoformat())
        await page.click("#view-show")
        await page.locator("#view-all-count", has_text="4 invoices").wait_for(timeout=10000)
        # Link the paid one: it joins the deal's list above.
        paid = page.locator("[data-contact-invoice]", has_text="Paid").first
        await paid.locator('[data-action="link"]').click()
        await page.locator("#view-all-notice", has_text="linked to this deal").wait_for()
        await page.locator("#invoice-list .invoice").first.wait_for(timeout=10000)
        assert await page.locator("#invoice-list .invoice").count() == 1
        # Unlink it (after the confirmation): the list is empty again, the invoice stays.
        paid = page.locator("[data-contact-invoice].linked").first
        await paid.locator('[data-action="unlink"]').click()
        await page.locator("#view-all-notice", has_text="unlinked").wait_for()
        await page.locator("#invoice-list .empty").wait_for(timeout=10000)
        assert await page.locator("[data-contact-invoice]").count() == 4
        assert real_errors(errors) == [], errors
    finally:
        await context.close()


async def test_menu_settings_and_unlink_contact_inside_pipedrive(
    browser: Any, northwind: Any, settings: Any, client: Any
) -> None:
    await link_acme(client, northwind)
    url = f"{settings.sandbox_url}/pipedrive/c/northwind/deal/31?user_id=101"
    context, page, errors = await opened(browser, url)
    try:
        frame = page.frame_locator("#panel")
        await frame.locator("#contact-card").wait_for(timeout=15000)
        # Unlink contact: Pipedrive's confirmation (SHOW_CONFIRMATION), then suggestions again.
        await frame.locator("#more-button").click()
        await frame.locator("#menu-unlink-contact").click()
        confirm = page.locator("#pd-confirm")
        await confirm.wait_for(timeout=10000)
        assert "Unlink this deal's organization" in await confirm.inner_text()
        await confirm.locator("[data-answer=ok]").click()
        await frame.locator("#contact-unlinked", has_text="Acme Ltd").wait_for(timeout=10000)
        # Settings, as an admin: Pipedrive's own settings page for the app (REDIRECT_TO).
        await frame.locator("#more-button").click()
        await frame.locator("#menu-settings").click()
        await page.wait_for_url("**/settings/apps/invoicing**", timeout=10000)
        assert real_errors(errors) == [], errors
    finally:
        await context.close()


async def test_a_sales_rep_sees_the_settings_read_only(
    app_server: str,
    browser: Any,
    northwind: Any,
    settings: Any,
    client: Any,
    sandbox: Any,
    sessionmaker: Any,
) -> None:
    sam = await installed(client, sandbox, sessionmaker, 102)
    token = issue_handoff(settings, sam.user)
    context, page, errors = await opened(
        browser, f"{app_server}/pipedrive/panel?selectedIds=31&handoff={token}"
    )
    try:
        await page.click("#more-button")
        await page.click("#menu-settings")
        await page.locator("#settings-title").wait_for(timeout=10000)
        assert "Only a Pipedrive admin can change these." in await page.content()
        assert await page.locator("#due-rule-xero").count() == 1
        assert await page.locator("form").count() == 0
        assert real_errors(errors) == [], errors
    finally:
        await context.close()
