"""The preferences page in Chromium: Pipedrive's panel width, both themes, htmx under our CSP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_page_fits_the_panel_and_previews_live(
    app_server, browser, make_user, settings, theme
):
    from app.tenants.handoff import issue_handoff

    # No Pipedrive install behind this admin: the page must still work (fields unknown).
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101, is_admin=True)
    code = issue_handoff(settings, admin)
    context = await browser.new_context(viewport={"width": 320, "height": 700})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        response = await page.goto(f"{app_server}/preferences?handoff={code}&theme={theme}&setup=1")
        assert response.status == 200
        assert await page.is_visible("text=Set up invoicing in three steps")
        # The one-time code leaves the address bar; the page keeps a session in its meta tag.
        assert "handoff=" not in page.url and "setup=1" in page.url
        renewed = await page.evaluate("window.crmInvoicing.renewSession()")
        assert renewed["user"]["id"] == admin.id
        # Nothing wider than the panel: no horizontal scrolling at 320 px.
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(22, 25, 31)" if theme == "dark" else "rgb(255, 255, 255)")

        await page.evaluate("window.__marker = 'same page'")
        await page.select_option("#f-due-rule", "day_of_following_month")
        await page.fill("#f-due-days", "31")
        await page.dispatch_event("#f-due-days", "change")
        await page.wait_for_selector("text=day 31 of the month after the invoice", timeout=10000)
        # htmx swapped a fragment: the page itself was not reloaded.
        assert await page.evaluate("window.__marker") == "same page"

        await page.fill("#f-due-days", "0")
        await page.wait_for_selector("#preview >> text=between 1 and 31, not 0", timeout=10000)
        await page.click("button[type=submit]")
        await page.wait_for_selector("text=Nothing was saved", timeout=10000)
        assert await page.evaluate("window.__marker") == "same page"
        # The refused save is a 422 by design; Chromium logs every 4xx. Nothing else may fail.
        assert [e for e in errors if "status of 422" not in e] == [], errors
    finally:
        await context.close()
