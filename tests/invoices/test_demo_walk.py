"""The demo walk a newcomer follows from our home page (item 7), clicked through in Chromium:
install into the sandbox Pipedrive, connect the sandbox Xero and QuickBooks, create an invoice
on the seeded deal "Acme rollout" from the sandbox's deal page, and open it in the sandbox Xero."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


async def test_the_home_page_walk_ends_in_the_sandbox_xero(
    app_server: str, browser: Any, sandbox: Any, settings: Any
) -> None:
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await page.goto(f"{app_server}/")
        # 1. Install: the sandbox Pipedrive's consent, as Nora Admin.
        await page.click("#demo-install")
        await page.check("input[name=user_id][value='101']")
        await page.click("button[value=allow]")
        await page.wait_for_load_state()
        assert "/preferences" in page.url

        # 2 and 3. Connect Xero and QuickBooks from the Connections page (each in a new tab).
        await page.click("text=Accounting connections")
        await page.wait_for_load_state()
        for provider, label in (("xero", "Xero"), ("quickbooks", "QuickBooks")):
            async with page.expect_popup() as info:
                await page.click(f"#conn-{provider} a:has-text('Connect {label}')")
            consent = await info.value
            await consent.wait_for_load_state()
            await consent.click("button[value=allow]")
            await consent.wait_for_load_state()
            # The link's registration sends the tab on to Pipedrive's own "connected" page
            # (the extension contract); the Connections page follows along without a reload.
            assert "Your invoicing app is connected" in await consent.inner_text("body")
            await page.wait_for_selector(f"#conn-{provider} .badge-active", timeout=15000)
            await consent.close()

        # 4. The deal page the home page links to embeds our panel; create the invoice there.
        await page.goto(f"{app_server}/")
        await page.click("#demo-deal")
        await page.wait_for_load_state()
        assert page.url.startswith(settings.sandbox_url)
        frame = page.frame_locator("#panel")
        await frame.locator("#provider-choice").select_option("xero")
        # Create invoice opens Pipedrive's custom modal (the sandbox host's overlay).
        await frame.locator("#create-button").click()
        modal = page.frame_locator("#pd-modal-frame")
        await modal.locator("#total-total").wait_for(timeout=20000)
        assert await modal.locator("#total-total").inner_text() == "NZ$6,957.50"
        assert await modal.locator(".line.unlinked").count() == 0
        await modal.locator("#submit-invoice").click()
        # Created: the modal closes itself and the host shows Pipedrive's snackbar.
        await page.locator("#pd-modal").wait_for(state="detached", timeout=20000)
        await page.locator("#pd-snackbar .pd-snackbar-message").wait_for(timeout=10000)

        # 5. Listed as a Draft; Open in Xero shows it in the sandbox Xero.
        invoice = frame.locator(".invoice").first
        await invoice.wait_for()
        assert await invoice.locator(".badge").inner_text() == "Draft"
        number = (await invoice.locator(".invoice-number").inner_text()).strip()
        async with page.expect_popup() as info:
            await invoice.locator("a", has_text="Open in Xero").click()
        xero = await info.value
        await xero.wait_for_load_state()
        body = await xero.inner_text("body")
        assert number in body and "6957.50" in body and "Acme Ltd" in body
        assert errors == []
    finally:
        await context.close()
