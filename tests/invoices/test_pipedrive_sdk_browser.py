"""Our pages' use of Pipedrive's App Extensions SDK, in Debian's Chromium.

A test-only host page (served by the test on the sandbox's origin, which our CSP lets frame
us) answers what the vendored SDK posts: the same ``{id, payload: {type, command, args}}``
messages over a MessageChannel that Pipedrive answers. The sandbox Pipedrive hosts the pages
for the demo and the end-to-end tests (tests/sandbox/pipedrive); this host only records and
answers, so each test can say what Pipedrive would have answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest

from app.config import Settings
from app.tenants.handoff import issue_handoff
from tests.crm.pipedrive.conftest import sign_jwt
from tests.invoices.helpers import body, create, draft
from tests.invoices.test_panel_browser import real_errors, until
from tests.support.browser import CHROMIUM_ARGS, chromium_path

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>SDK host (test)</title></head>
<body>
<iframe id="panel" style="width:320px;height:100px;border:0"></iframe>
<div id="modal"></div>
<script>
// Answers the App Extensions SDK as Pipedrive does, and records what it was asked.
window.host = {
  log: [], tokens: [], token: TOKEN, confirm: false, snackbars: [], resizes: [],
  listeners: {}, modalPort: null, openModal: null, initialized: {},
  modalUrl: MODAL_URL
};
function reply(port, data) { if (port) { port.postMessage({ data: data }); } }
window.addEventListener("message", function (event) {
  var message = event.data || {};
  var payload = message.payload;
  var port = event.ports && event.ports[0];
  if (!payload) { return; }
  host.log.push({ id: message.id, type: payload.type, command: payload.command,
                  event: payload.event, args: payload.args });
  if (payload.type === "listener") { host.listeners[payload.event] = port; return; }
  if (payload.type !== "command") { return; }
  var args = payload.args || {};
  switch (payload.command) {
    case "initialize": host.initialized[message.id] = args; return reply(port, {});
    case "resize":
      host.resizes.push(args);
      if (message.id === "panel-1" && args.height) {
        document.getElementById("panel").style.height = args.height + "px";
      }
      return reply(port, {});
    case "get_signed_token":
      return reply(port, { token: host.tokens.length ? host.tokens.shift() : host.token });
    case "show_confirmation": return reply(port, { confirmed: host.confirm });
    case "show_snackbar": host.snackbars.push(args); return reply(port, {});
    case "redirect_to": host.redirect = args; return reply(port, {});
    case "open_modal":
      host.openModal = args;
      host.modalPort = port;
      var frame = document.createElement("iframe");
      frame.id = "modal-frame";
      frame.style.cssText = "width:960px;height:700px;border:0";
      frame.src = host.modalUrl + "&data=" + encodeURIComponent(JSON.stringify(args.data));
      document.getElementById("modal").appendChild(frame);
      return;
    case "close_modal":
      var open = document.getElementById("modal-frame");
      if (open) { open.remove(); }
      host.closed = args;
      reply(host.modalPort, { status: args.status === "submitted" ? "submitted" : "closed" });
      host.modalPort = null;
      return reply(port, {});
    default: return reply(port, {});
  }
});
window.setTheme = function (theme) {
  var port = host.listeners["user_settings_change"];
  if (port) { port.postMessage({ data: { theme: theme } }); }
};
document.getElementById("panel").src = PANEL_URL;
</script>
</body></html>
"""


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """Chromium as the shared fixture launches it, but allowed to frame the loopback server
    from a page the test serves itself: a page fulfilled by Playwright has no address, which
    Chromium's Local Network Access checks treat as public (the real sandbox needs none)."""
    path = chromium_path()
    if path is None:
        pytest.skip("Debian's Chromium is not installed (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    args = [*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"]
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=path, args=args)
        try:
            yield launched
        finally:
            await launched.close()


def signed(settings: Settings, expired: bool = False) -> str:
    now = int(time.time())
    claims = {"userId": 101, "companyId": 7001, "iat": now, "exp": now + 300}
    if expired:
        claims.update(iat=now - 900, exp=now - 600)
    return sign_jwt(settings.pipedrive.jwt_secret or settings.pipedrive.client_secret, claims)


def frame_url(app_server: str, path: str, settings: Settings, runtime_id: str, **extra: str) -> str:
    query = {
        "userId": "101",
        "companyId": "7001",
        "token": signed(settings),
        "id": runtime_id,
        "theme": "light",
        **extra,
    }
    return f"{app_server}{path}?{urlencode(query)}"


async def open_host(
    browser: Any, app_server: str, settings: Settings, deal: int = 31, framed: str | None = None
) -> Any:
    """A page on the sandbox's origin, framing our panel (or ``framed``) as Pipedrive does."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    page.on("console", lambda m: page.js_errors.append(m.text) if m.type == "error" else None)
    panel = frame_url(
        app_server,
        "/pipedrive/panel",
        settings,
        "panel-1",
        resource="deal",
        view="details",
        selectedIds=str(deal),
    )
    if framed is not None:
        panel = framed
    modal = frame_url(app_server, "/pipedrive/modal/create-invoice", settings, "modal-1")
    html = (
        HOST_PAGE.replace("TOKEN", json.dumps(signed(settings)))
        .replace("MODAL_URL", json.dumps(modal))
        .replace("PANEL_URL", json.dumps(panel))
    )
    host_url = f"{settings.sandbox_url}/_test/sdk-host"

    async def serve(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/html", body=html)

    await page.route(host_url, serve)
    await page.goto(host_url)
    return page


def panel_frame(page: Any) -> Any:
    return page.frame(url=lambda u: "/pipedrive/panel" in u)


async def ready(page: Any) -> Any:
    await until(page, "!!window.host && !!window.host.initialized['panel-1']", timeout=15)
    inner = panel_frame(page)
    await until(inner, "document.documentElement.getAttribute('data-pipedrive') === 'panel'")
    return inner


async def test_panel_initialises_resizes_and_follows_the_theme(
    app_server: str, browser: Any, northwind: Any, settings: Settings
) -> None:
    page = await open_host(browser, app_server, settings)
    try:
        inner = await ready(page)
        size = await page.evaluate("host.initialized['panel-1'].size")
        assert size["height"] >= 100 and "width" not in size
        # The panel asks to fit its content: the host's iframe grows, the panel never scrolls.
        await until(page, "host.resizes.length > 0")
        await until(page, "parseInt(document.getElementById('panel').style.height) > 100")
        # Sections that load after the first paint (the contact's totals) resize it again.
        await until(inner, "document.documentElement.scrollHeight <= window.innerHeight + 1")
        # The theme follows the user's switch in Pipedrive.
        assert await inner.evaluate("document.documentElement.dataset.theme") == "light"
        await until(page, "!!host.listeners['user_settings_change']")
        await page.evaluate("setTheme('dark')")
        await until(inner, "document.documentElement.dataset.theme === 'dark'")
        # The session is not in the address (the token was dropped from it).
        assert "token=" not in inner.url
        assert real_errors(page.js_errors) == [], page.js_errors
    finally:
        await page.context.close()


async def test_requests_carry_a_fresh_token_and_an_expired_one_says_reopen(
    app_server: str, browser: Any, northwind: Any, settings: Settings
) -> None:
    page = await open_host(browser, app_server, settings)
    try:
        inner = await ready(page)
        asked = "host.log.filter(m => m.command === 'get_signed_token').length"
        before = await page.evaluate(asked)
        await inner.locator("#refresh-button").click()
        await inner.locator("#action-notice").wait_for(timeout=15000)
        assert await page.evaluate(asked) > before
        # The result is also Pipedrive's snackbar.
        await until(page, "host.snackbars.length > 0")

        # Pipedrive answers only expired tokens: the page asks once more, then says to reopen,
        # and sends nothing.
        await page.evaluate(f"host.token = {json.dumps(signed(settings, expired=True))}")
        await inner.evaluate("document.getElementById('action-notice').remove()")
        before = await page.evaluate(asked)
        await inner.locator("#refresh-button").click()
        await inner.locator("#reopen-notice").wait_for(timeout=10000)
        assert "Please reopen the panel" in await inner.locator("#reopen-notice").inner_text()
        # The live-status poll may ask too; the click itself asked exactly twice.
        assert await page.evaluate(asked) >= before + 2
        assert await inner.locator("#action-notice").count() == 0
    finally:
        await page.context.close()


async def test_a_cancelled_confirmation_changes_nothing(
    app_server: str, browser: Any, northwind: Any, settings: Settings, client: Any
) -> None:
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d))
    assert made.status_code == 201, made.text
    page = await open_host(browser, app_server, settings)
    try:
        inner = await ready(page)
        delete = inner.locator("button[data-action='DELETED']")
        await delete.wait_for(timeout=15000)
        await page.evaluate("host.confirm = false")
        await delete.click()
        await until(page, "host.log.some(m => m.command === 'show_confirmation')")
        confirmation = await page.evaluate(
            "host.log.find(m => m.command === 'show_confirmation').args"
        )
        assert confirmation["title"].endswith("?") and confirmation["okColor"] == "negative"
        await inner.wait_for_timeout(500)
        assert await inner.locator("#action-notice").count() == 0
        assert await inner.locator(".invoice .badge").first.inner_text() == "Draft"

        await page.evaluate("host.confirm = true")
        await delete.click()
        await inner.locator("#action-notice").wait_for(timeout=15000)
        assert "deleted" in await inner.locator("#action-notice").inner_text()
    finally:
        await page.context.close()


async def test_create_invoice_opens_as_a_custom_modal_and_the_panel_refreshes(
    app_server: str, browser: Any, northwind: Any, settings: Settings
) -> None:
    page = await open_host(browser, app_server, settings)
    try:
        inner = await ready(page)
        await inner.locator("#provider-choice").select_option("xero")
        await inner.locator("#create-button").click()
        await until(page, "!!host.openModal")
        opened = await page.evaluate("host.openModal")
        assert opened["type"] == "custom_modal"
        assert opened["action_id"] == settings.pipedrive.modal_id
        assert opened["data"] == {"dealId": 31, "provider": "xero", "companyId": 7001}
        # The panel's own <dialog> stays closed inside Pipedrive.
        assert not await inner.evaluate("document.getElementById('invoice-dialog').open")

        await until(page, "!!host.initialized['modal-1']", timeout=15)
        assert await page.evaluate("host.initialized['modal-1'].size.width") == 960
        modal = page.frame(url=lambda u: "/pipedrive/modal/create-invoice" in u)
        await modal.locator("#total-total").wait_for(timeout=15000)
        await modal.locator("#submit-invoice").click()
        # Created: Pipedrive's snackbar with the link, the modal closed, the panel refreshed.
        await until(page, "!document.getElementById('modal-frame')", timeout=20)
        assert await page.evaluate("host.closed") == {"status": "submitted"}
        snack = await page.evaluate("host.snackbars[host.snackbars.length - 1]")
        assert snack["message"].startswith("Invoice ") and snack["message"].endswith(
            "created in Xero"
        )
        assert snack["link"]["label"] == "Open in Xero" and snack["link"]["url"]
        await inner.locator(".invoice").first.wait_for(timeout=15000)
        assert await inner.locator(".invoice").count() == 1
        assert real_errors(page.js_errors) == [], page.js_errors
    finally:
        await page.context.close()


async def test_a_reload_inside_the_frame_stays_signed_in(
    app_server: str, browser: Any, northwind: Any, settings: Settings
) -> None:
    page = await open_host(browser, app_server, settings)
    try:
        inner = await ready(page)
        assert "token=" not in inner.url
        await inner.evaluate("window.location.reload()")
        # The reload has no token: the page trades a fresh one from the SDK for a one-time
        # code and opens again, signed in.
        await until(page, "host.log.filter(m => m.command === 'initialize').length >= 2")
        reloaded = panel_frame(page)
        await reloaded.locator("#invoice-list").wait_for(timeout=15000)
        assert "handoff=" not in reloaded.url and "token=" not in reloaded.url
    finally:
        await page.context.close()


async def test_standalone_the_panel_runs_without_the_sdk(
    app_server: str, browser: Any, northwind: Any, settings: Settings
) -> None:
    # Not framed (even with an ``id`` in the address): no SDK, the panel's own dialog.
    code = issue_handoff(settings, northwind.user)
    context = await browser.new_context(viewport={"width": 420, "height": 800})
    page = await context.new_page()
    try:
        response = await page.goto(
            f"{app_server}/pipedrive/panel?selectedIds=31&id=panel-1&handoff={code}"
        )
        assert response.status == 200
        await page.click("#create-button")
        await page.wait_for_selector("#total-total", timeout=15000)
        assert await page.evaluate("document.getElementById('invoice-dialog').open")
        assert await page.evaluate("window.crmInvoicing.sdk") is None
        assert (
            await page.evaluate("document.documentElement.hasAttribute('data-pipedrive')") is False
        )
    finally:
        await context.close()


async def test_the_settings_page_initialises_and_keeps_the_frame_when_navigating(
    app_server: str, browser: Any, northwind: Any, settings: Settings
) -> None:
    prefs = frame_url(app_server, "/preferences", settings, "settings-1")
    page = await open_host(browser, app_server, settings, framed=prefs)
    try:
        await until(page, "!!window.host && !!window.host.initialized['settings-1']", timeout=15)
        inner = page.frame(url=lambda u: "/preferences" in u)
        await until(inner, "document.documentElement.getAttribute('data-pipedrive') === 'settings'")
        await until(page, "!!host.listeners['user_settings_change']")
        await page.evaluate("setTheme('dark')")
        await until(inner, "document.documentElement.dataset.theme === 'dark'")
        # Another of our pages in the same frame keeps Pipedrive's runtime id: it initialises too.
        await inner.locator("a[href^='/connections']").first.click()
        await until(
            page,
            "host.log.filter(m => m.command === 'initialize' && m.id === 'settings-1').length >= 2",
            timeout=15,
        )
        connections = page.frame(url=lambda u: "/connections" in u)
        assert connections is not None
        assert "handoff=" not in connections.url and "token=" not in connections.url
        assert await connections.evaluate("document.documentElement.dataset.theme") == "dark"
        assert real_errors(page.js_errors) == [], page.js_errors
    finally:
        await page.context.close()
