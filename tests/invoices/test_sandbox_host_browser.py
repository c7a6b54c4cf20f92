"""Our real pages hosted by the sandbox Pipedrive (``sandbox/static/pipedrive/host.js``), in
Debian's Chromium: the host frames the panel and the modal as Pipedrive does, answers the App
Extensions SDK, shows confirmations in its own chrome and hides a frame that never initialises.

tests/invoices/test_pipedrive_sdk_browser.py drives the same pages from a recording test host;
these run them against the sandbox's host, end to end (its signed tokens, its dialogs).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.config import Settings
from app.tenants.handoff import issue_handoff
from tests.crm.pipedrive.conftest import sign_jwt
from tests.invoices.helpers import body, create, draft
from tests.invoices.test_panel_browser import real_errors, until

pytestmark = pytest.mark.browser

DEAL = "/pipedrive/c/northwind/deal/31?user_id=101"
READY = '.pd-ext[data-kind="panel"][data-sdk="ready"]'


@pytest.fixture
async def host_page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.js_errors = errors
    try:
        yield page
    finally:
        await context.close()


async def open_deal(page: Any, settings: Settings, query: str = "") -> Any:
    await page.goto(f"{settings.sandbox_url}{DEAL}{query}")
    await page.wait_for_selector(READY, timeout=20000)
    panel = page.frame(url=lambda u: "/pipedrive/panel" in u)
    assert panel is not None
    await panel.locator("#invoice-list").wait_for(timeout=15000)
    return panel


def token_for(settings: Settings, user: int, company: int, age: int = 0) -> str:
    now = int(time.time()) - age
    claims = {"userId": user, "companyId": company, "iat": now, "exp": now + 300}
    return sign_jwt(settings.pipedrive.jwt_secret or settings.pipedrive.client_secret, claims)


async def settled(frame: Any, script: str, timeout: float = 20.0) -> None:
    """Like ``until``, through the frame's navigations (a reload destroys its context)."""
    for _ in range(int(timeout / 0.1)):
        try:
            if await frame.evaluate(script):
                return
        except Exception:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"still false after {timeout} s: {script}")


async def invoices(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    listed = await client.get("/api/v1/deals/31/invoices", headers=headers)
    assert listed.status_code == 200, listed.text
    return list(listed.json())


async def test_the_panel_initialises_resizes_and_follows_the_hosts_theme(
    app_server: str, host_page: Any, northwind: Any, settings: Settings
) -> None:
    page = host_page
    panel = await open_deal(page, settings)
    # The host sized the iframe to the panel's content, within Pipedrive's 100 to 750 px.
    await until(page, "!!document.getElementById('panel').style.height")
    height = await page.evaluate("parseInt(document.getElementById('panel').style.height)")
    assert 100 <= height <= 750
    assert await panel.evaluate("document.documentElement.getAttribute('data-pipedrive')") == (
        "panel"
    )
    # The panel never scrolls inside itself (sections loading after the first paint resize it
    # again).
    await settled(panel, "document.documentElement.scrollHeight <= window.innerHeight + 1")
    assert "token=" not in panel.url

    # The host's theme switch reaches the open panel (USER_SETTINGS_CHANGE), and back.
    assert await panel.evaluate("document.documentElement.dataset.theme") == "light"
    await page.locator("#theme-switch").click()
    await until(panel, "document.documentElement.dataset.theme === 'dark'")
    background = await panel.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 25, 31)"
    await page.locator("#theme-switch").click()
    await until(panel, "document.documentElement.dataset.theme === 'light'")
    assert real_errors(page.js_errors) == [], page.js_errors


async def test_a_cancelled_void_in_the_hosts_confirmation_changes_nothing(
    app_server: str, host_page: Any, northwind: Any, settings: Settings, client: Any, sandbox: Any
) -> None:
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d))
    assert made.status_code == 201, made.text
    row = made.json()
    approved = await client.post(
        f"/api/v1/deals/31/invoices/{row['id']}/actions/AUTHORISED", headers=northwind.headers
    )
    assert approved.status_code == 200, approved.text
    page = host_page
    actions: list[str] = []
    page.on("request", lambda r: actions.append(r.url) if "/actions/" in r.url else None)
    panel = await open_deal(page, settings)
    void = panel.locator("button[data-action='VOIDED']")
    await void.wait_for(timeout=15000)
    await sandbox.clear_requests()

    await void.click()
    confirm = page.locator("#pd-confirm")
    await confirm.wait_for()
    assert row["number"] in await confirm.locator("h2").inner_text()
    await confirm.locator("button[data-answer='cancel']").click()
    await confirm.wait_for(state="detached")
    # Nothing was asked of our app nor of Xero: the invoice is as it was, here and there.
    await panel.locator(".invoice .badge", has_text="Awaiting payment").wait_for()
    assert actions == []
    assert await panel.locator("#action-notice").count() == 0
    (listed,) = await invoices(client, northwind.headers)
    assert listed["provider_status"] == "AUTHORISED"
    writes = [r for r in await sandbox.requests("Invoices") if r["method"] != "GET"]
    assert writes == []

    # The same button confirmed does void it: the cancel was what held it back.
    await void.click()
    await confirm.locator("button[data-answer='ok']").click()
    await panel.locator("#action-notice", has_text="voided").wait_for(timeout=15000)
    (listed,) = await invoices(client, northwind.headers)
    assert listed["provider_status"] == "VOIDED"


async def test_a_reload_of_the_panel_iframe_stays_signed_in(
    app_server: str, host_page: Any, northwind: Any, settings: Settings
) -> None:
    page = host_page
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url) if r.url.startswith(app_server) else None)
    panel = await open_deal(page, settings)
    signed = "/extensions/signed-token"
    tokens_before = len([u for u in urls if signed in u])
    page.on("request", lambda r: urls.append(r.url) if signed in r.url else None)
    await panel.evaluate("window.__marker = 'before reload'")
    await panel.evaluate("window.location.reload()")
    # The reloaded page has no token in its address: it asks the host for a fresh signed token
    # (GET_SIGNED_TOKEN), trades it for a one-time code and shows the panel again, signed in.
    fresh = "window.__marker === undefined && !!document.getElementById('invoice-list')"
    await settled(panel, fresh)
    reloaded = page.frame(url=lambda u: "/pipedrive/panel" in u)
    assert reloaded is not None
    assert await reloaded.locator("text=No invoices for this deal yet.").count() == 1
    assert "token=" not in reloaded.url and "handoff=" not in reloaded.url
    assert await page.locator(READY).count() == 1
    # The sign-in came from the host's GET_SIGNED_TOKEN, not from anything kept in the page.
    assert len([u for u in urls if signed in u]) > tokens_before
    # No session token ever travelled in an address.
    assert [u for u in urls if "session" in urlsplit(u).query] == []


async def test_a_panel_whose_sdk_never_initialises_is_hidden_by_the_host(
    app_server: str, host_page: Any, northwind: Any, settings: Settings
) -> None:
    page = host_page

    # Break the SDK call on purpose: the bundle loads, but ``initialize`` never answers.
    async def broken(route: Any) -> None:
        response = await route.fetch()
        script = await response.text()
        script += "\nwindow.AppExtensionsSDK.prototype.initialize = function () {"
        script += " return new Promise(function () {}); };\n"
        await route.fulfill(response=response, body=script)

    await page.route("**/static/vendor/app-extensions-sdk-*.umd.js", broken)
    await page.goto(f"{settings.sandbox_url}{DEAL}&require_sdk=1&sdk_timeout_ms=1500")
    box = page.locator('.pd-ext[data-kind="panel"]')
    await page.wait_for_selector('.pd-ext[data-kind="panel"][data-sdk="timed-out"]', timeout=15000)
    assert await page.locator("#panel").is_hidden()
    assert await box.locator(".pd-ext-status").inner_text() == "The app did not load in time"


async def test_a_token_for_another_user_shows_nothing_and_an_expired_one_says_reopen(
    app_server: str, host_page: Any, northwind: Any, settings: Settings
) -> None:
    page = host_page
    panel = await open_deal(page, settings)
    answers: list[str] = []

    async def sign(route: Any) -> None:
        token = answers.pop(0) if answers else token_for(settings, 101, 7001)
        answer = json.dumps({"token": token})
        await route.fulfill(status=200, content_type="application/json", body=answer)

    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "signed-token" in r.url else None)
    await page.route("**/extensions/signed-token*", sign)

    # Pipedrive signs for someone else than the frame's user: refused, nothing of it shown.
    answers.append(token_for(settings, 102, 7001))
    await panel.locator("#refresh-button").click()
    await panel.locator("#reopen-notice").wait_for(timeout=15000)
    assert "Please reopen the panel" in await panel.locator("#reopen-notice").inner_text()
    assert await panel.locator("#action-notice").count() == 0

    # An expired token: the page asks the host once more, then says to reopen, sending nothing.
    await panel.evaluate("document.getElementById('reopen-notice').remove()")
    expired = token_for(settings, 101, 7001, age=900)
    answers.extend([expired, expired])
    sent: list[str] = []

    def posted(request: Any) -> None:
        if request.url.startswith(app_server) and request.method == "POST":
            sent.append(request.url)

    page.on("request", posted)
    before = len(asked)
    await panel.locator("#refresh-button").click()
    await panel.locator("#reopen-notice").wait_for(timeout=15000)
    assert len(asked) >= before + 2
    assert answers == []  # both expired answers were asked for
    assert sent == []
    assert await panel.locator("#action-notice").count() == 0


async def test_unlinking_an_item_or_the_contact_asks_first_in_the_host(
    app_server: str, host_page: Any, northwind: Any, settings: Settings
) -> None:
    page = host_page
    unlinks: list[str] = []
    page.on(
        "request",
        lambda r: unlinks.append(r.url) if "/unlink" in r.url or "/customer/new" in r.url else None,
    )
    panel = await open_deal(page, settings)
    await panel.locator("#provider-choice").select_option("xero")
    await panel.locator("#create-button").click()
    modal = page.frame_locator("#pd-modal-frame")
    await modal.locator("#total-total").wait_for(timeout=20000)
    linked = modal.locator(".line:not(.unlinked)", has=modal.locator("button", has_text="Change"))
    line = linked.first
    line_id = await line.get_attribute("id")
    code = await line.locator(".item-state.ok strong").inner_text()
    confirm = page.locator("#pd-confirm")

    # Cancelled: the line keeps its item and nothing was sent.
    await line.locator("button", has_text="Change").click()
    await confirm.wait_for()
    number = int(line_id.split("-")[1]) + 1
    assert await confirm.locator("h2").inner_text() == f"Unlink {code} from line {number}?"
    assert await confirm.locator("button[data-answer='ok']").inner_text() == "Unlink"
    await confirm.locator("button[data-answer='cancel']").click()
    await confirm.wait_for(state="detached")
    assert unlinks == []
    assert await modal.locator(f"#{line_id} .item-state.ok", has_text=code).count() == 1

    # The contact: "Create a new contact instead" unlinks it, after asking.
    await modal.locator(".contact-picker summary").click()
    await modal.locator("button", has_text="contact instead").click()
    await confirm.wait_for()
    assert (await confirm.locator("h2").inner_text()).startswith("Unlink ")
    await confirm.locator("button[data-answer='cancel']").click()
    await confirm.wait_for(state="detached")
    assert unlinks == []
    assert await modal.locator(".contact-state.ok").count() == 1

    # Confirmed, the item is unlinked.
    await line.locator("button", has_text="Change").click()
    await confirm.locator("button[data-answer='ok']").click()
    await modal.locator(f"#{line_id} .warn-icon").wait_for(timeout=10000)
    assert len(unlinks) == 1
    assert real_errors(page.js_errors) == [], page.js_errors


async def test_standalone_unlinking_asks_the_browsers_confirm(
    app_server: str, browser: Any, northwind: Any, settings: Settings
) -> None:
    code = issue_handoff(settings, northwind.user)
    context = await browser.new_context(viewport={"width": 420, "height": 900})
    page = await context.new_page()
    asked: list[str] = []

    async def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    try:
        await page.goto(f"{app_server}/pipedrive/panel?selectedIds=31&handoff={code}")
        await page.select_option("#provider-choice", "xero")
        await page.click("#create-button")
        await page.wait_for_selector("#total-total", timeout=15000)
        line = page.locator(".line:not(.unlinked)", has=page.locator("button", has_text="Change"))
        line_id = await line.first.get_attribute("id")
        await line.first.locator("button", has_text="Change").click()
        for _ in range(100):
            if asked:
                break
            await asyncio.sleep(0.05)
        assert len(asked) == 1 and asked[0].startswith("Unlink ")
        assert await page.locator(f"#{line_id} .item-state.ok").count() == 1
    finally:
        await context.close()
