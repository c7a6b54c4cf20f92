"""The Connections page in a real browser: connect in a new window, disconnect with htmx,
narrow widths and the dark theme."""

from __future__ import annotations

import pytest

from app.tenants.handoff import issue_handoff

pytestmark = pytest.mark.browser


async def test_connect_and_disconnect_in_a_browser(app_server, page, make_user, settings, flow):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101, name="Nora Admin")
    await flow.arm_xero()
    await page.goto(f"{app_server}/connections?handoff={issue_handoff(settings, admin)}")
    assert await page.locator("#conn-xero .badge").inner_text() == "Not connected"
    # The one-time code left the address bar once the page had traded it.
    assert page.url == f"{app_server}/connections"

    # The consent runs in its own top-level window, never inside Pipedrive's iframe.
    async with page.expect_popup() as popup_info:
        await page.click("#conn-xero a:has-text('Connect Xero')")
    popup = await popup_info.value
    await popup.wait_for_load_state()
    assert "Xero connected" in await popup.inner_text("h1")
    # The page that opened it follows along without a reload, while the window is still open.
    await page.wait_for_selector("#conn-xero .badge-active", timeout=15000)
    assert "Northwind Traders NZ" in await page.inner_text("#conn-xero")
    await popup.click("text=Back to Connections")
    await popup.wait_for_selector("#conn-xero")
    assert "Northwind Traders NZ" in await popup.inner_text("#conn-xero")
    assert "handoff=" not in popup.url and "session=" not in popup.url

    # F5 keeps the admin signed in (the page cookie), with no token in the address.
    await page.reload()
    card = page.locator("#conn-xero")
    assert await card.locator(".badge").inner_text() == "Connected"
    assert "Nora Admin" in await card.inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    await card.locator("button:has-text('Disconnect')").click()
    await page.wait_for_selector("#conn-xero .badge:has-text('Disconnected')")
    assert "Northwind Traders NZ" in await page.inner_text("#conn-xero")
    assert page.js_errors == []


async def test_connections_page_fits_a_narrow_dark_iframe(
    app_server, browser, make_user, settings, flow
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    context = await browser.new_context(viewport={"width": 320, "height": 640})
    try:
        narrow = await context.new_page()
        code = issue_handoff(settings, admin)
        await narrow.goto(f"{app_server}/connections?handoff={code}&theme=dark")
        overflow = await narrow.evaluate(
            "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
        )
        assert overflow <= 0
        background = await narrow.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(22, 25, 31)"
        assert await narrow.locator("#conn-xero button:has-text('Disconnect')").is_visible()
    finally:
        await context.close()


async def test_reconnect_from_outside_signs_in_with_pipedrive_then_connects(
    app_server, sandbox_server, page, sandbox, flow
):
    # Pipedrive's Invoicing extension (getProviderAccountConnectUrl) and Intuit's app center
    # (Reconnect URL) open this in a window of their own: no session, no page cookie.
    approve = await sandbox.http.post("/_sandbox/pipedrive/auto-approve", json={"user_id": 101})
    assert approve.status_code < 300, approve.text
    await flow.arm_xero()
    response = await page.goto(f"{app_server}/connections/xero/connect")
    assert response.status == 200
    # Signed in with Pipedrive, consented at Xero, and sent back to Pipedrive: the link's
    # registration answered its redirectUrl, where the browser lands (the extension contract).
    assert page.url.startswith(sandbox_server)
    assert "link_id=" in page.url
    assert "connected" in await page.inner_text("h1")
