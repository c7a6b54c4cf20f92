"""In Debian's Chromium: the sandbox Pipedrive hosts custom UIs as Pipedrive does (reference
pipedrive.md §3.1). Pages on another origin drive the real App Extensions SDK bundle (0.15.1)
and the host answers over its postMessage protocol: initialise, resize, snackbar, confirmation,
signed token, custom modal, redirect, theme; a page that never initialises is hidden."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from sandbox.app import create_sandbox_app
from tests.sandbox.pipedrive.conftest import JWT_SECRET, Receiver, make_settings
from tests.support.servers import ServerThread, free_port

pytestmark = pytest.mark.browser

# Long enough for any page that does initialise; short enough that the hiding test is quick.
REQUIRE = "require_sdk=1&sdk_timeout_ms=8000"


@pytest.fixture
def host(receiver: Receiver) -> Iterator[Callable[..., str]]:
    """Start a sandbox with the given settings; returns its URL."""
    servers: list[ServerThread] = []

    def start(**overrides: Any) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = make_settings(receiver, public_url=url, **overrides)
        servers.append(ServerThread(create_sandbox_app(settings, reset=True, seed="demo"), port))
        servers[-1].start()
        return url

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


async def open_panel(page: Any, url: str, query: str = REQUIRE) -> Any:
    await page.goto(f"{url}/pipedrive/c/northwind/deal/31?user_id=102&{query}")
    await page.wait_for_selector('.pd-ext[data-kind="panel"][data-sdk="ready"]')
    frame = page.frame(url=lambda u: "/pipedrive/panel" in u)
    assert frame is not None
    return frame


async def test_a_page_that_never_initialises_is_hidden_by_the_host(host, page):
    url = host(pipedrive_panel_path="/pages/silent")
    await page.goto(
        f"{url}/pipedrive/c/northwind/deal/31?user_id=102&require_sdk=1&sdk_timeout_ms=300"
    )
    await page.wait_for_selector('.pd-ext[data-sdk="timed-out"]', state="attached")
    assert await page.locator("#panel").is_hidden()
    assert await page.locator(".pd-ext-status").inner_text() == "The app did not load in time"


async def test_the_sandbox_setting_requires_the_sdk_without_a_query_flag(host, page):
    url = host(
        pipedrive_panel_path="/pages/silent", pipedrive_require_sdk=True, pipedrive_sdk_timeout=0.3
    )
    await page.goto(f"{url}/pipedrive/c/northwind/deal/31?user_id=102")
    await page.wait_for_selector('.pd-ext[data-sdk="timed-out"]', state="attached")
    assert await page.locator("#panel").is_hidden()


async def test_an_sdk_page_initialises_and_resizes_within_the_panel_limits(host, page):
    frame = await open_panel(page, host())
    assert await page.locator("#panel").is_visible()
    assert await page.locator(".pd-ext-status").is_hidden()
    assert await frame.locator("#out").inner_text() == "initialised"
    height = "document.getElementById('panel').style.height"
    assert await page.evaluate(height) == "320px"  # initialize({size: {height: 320}})
    await frame.evaluate("window.sdk.execute('resize', {height: 480})")
    assert await page.evaluate(height) == "480px"
    await frame.evaluate("window.sdk.execute('resize', {height: 2000})")
    assert await page.evaluate(height) == "750px"  # a panel is at most 750 px high
    await frame.evaluate("window.sdk.execute('resize', {height: 20})")
    assert await page.evaluate(height) == "100px"
    metadata = await frame.evaluate("window.sdk.execute('get_metadata')")
    assert metadata == {"windowHeight": 768, "windowWidth": 1024}
    assert page.js_errors == []


async def test_a_snackbar_shows_in_the_host_with_its_link(host, page):
    frame = await open_panel(page, host())
    answer = await frame.evaluate(
        "window.sdk.execute('show_snackbar', {message: 'Invoice INV-0005 created in Xero',"
        " link: {url: 'https://go.xero.test/inv/5', label: 'Open in Xero'}})"
    )
    assert answer is None
    snackbar = page.locator("#pd-snackbar")
    assert await snackbar.is_visible()
    assert "Invoice INV-0005 created in Xero" in await snackbar.inner_text()
    link = snackbar.locator("a")
    assert await link.inner_text() == "Open in Xero"
    assert await link.get_attribute("href") == "https://go.xero.test/inv/5"


async def confirm(page: Any, frame: Any, button: str) -> Any:
    await frame.evaluate(
        "() => { window.answer = undefined; window.sdk.execute('show_confirmation', {title:"
        " 'Void INV-0005?', description: 'It stays in Xero as voided.', okText: 'Void',"
        " okColor: 'negative'}).then(function (a) { window.answer = a; }); }"
    )
    dialog = page.locator("#pd-confirm")
    await dialog.wait_for()
    assert "Void INV-0005?" in await dialog.inner_text()
    await dialog.locator(f'[data-answer="{button}"]').click()
    await frame.wait_for_function("window.answer !== undefined")
    return await frame.evaluate("window.answer")


async def test_a_confirmation_answers_the_page(host, page):
    frame = await open_panel(page, host())
    assert await confirm(page, frame, "cancel") == {"confirmed": False}
    assert await page.locator("#pd-confirm").count() == 0
    assert await confirm(page, frame, "ok") == {"confirmed": True}


async def test_get_signed_token_gives_a_fresh_jwt_for_the_viewer(host, page):
    frame = await open_panel(page, host())
    answer = await frame.evaluate("window.sdk.execute('get_signed_token')")
    token = OctKey.import_key(JWT_SECRET)
    claims = jwt.decode(answer["token"], token, algorithms=["HS256"]).claims
    assert (claims["userId"], claims["companyId"]) == (102, 7001)
    assert claims["exp"] - claims["iat"] == 300


async def open_modal(page: Any, frame: Any) -> Any:
    await frame.evaluate(
        "() => { window.modal = undefined; window.sdk.execute('open_modal', {type: 'custom_modal',"
        " action_id: 'create-invoice', data: {provider: 'xero'}})"
        ".then(function (a) { window.modal = a; }); }"
    )
    await page.wait_for_selector('#pd-modal .pd-ext[data-sdk="ready"]')
    modal = page.frame(url=lambda u: "/pipedrive/modal/create-invoice" in u)
    assert modal is not None
    return modal


async def test_a_custom_modal_opens_and_closes_as_submitted(host, page):
    frame = await open_panel(page, host())
    modal = await open_modal(page, frame)
    query = {k: v[0] for k, v in parse_qs(urlparse(modal.url).query).items()}
    assert (query["resource"], query["selectedIds"], query["userId"]) == ("deal", "31", "102")
    assert query["data"] == '{"provider":"xero"}'
    assert await frame.evaluate("window.modal") is None  # still open: no answer yet
    # Not awaited: the host removes the modal's frame right after answering it.
    await modal.evaluate("() => { window.sdk.execute('close_modal', {status: 'submitted'}); }")
    await frame.wait_for_function("window.modal !== undefined")
    assert await frame.evaluate("window.modal") == {"status": "submitted"}
    assert await page.locator("#pd-modal").count() == 0
    events = await frame.evaluate("window.events.map(function (e) { return e[0]; })")
    assert events == ["close_custom_modal"]


async def test_a_modal_closed_by_the_user_answers_closed(host, page):
    frame = await open_panel(page, host())
    await open_modal(page, frame)
    await page.locator("#pd-modal .pd-modal-close").click()
    await frame.wait_for_function("window.modal !== undefined")
    assert await frame.evaluate("window.modal") == {"status": "closed"}


async def test_an_unknown_modal_is_refused(host, page):
    frame = await open_panel(page, host())
    error = await frame.evaluate(
        "window.sdk.execute('open_modal', {type: 'custom_modal', action_id: 'nope'})"
        ".then(function () { return 'opened'; }, function (e) { return e.message; })"
    )
    assert "No custom modal 'nope'" in error
    assert await page.locator("#pd-modal").count() == 0


async def test_the_theme_switch_tells_every_frame(host, page):
    frame = await open_panel(page, host())
    await page.locator("#theme-switch").click()
    assert await page.evaluate("document.documentElement.dataset.theme") == "dark"
    await frame.wait_for_function("window.events.length > 0")
    assert await frame.evaluate("window.events") == [
        ["user_settings_change", {"data": {"theme": "dark"}}]
    ]
    assert "theme=dark" in page.url  # a reload keeps it


async def test_redirect_to_settings_opens_the_app_settings_page(host, page):
    frame = await open_panel(page, host(pipedrive_settings_path="/pipedrive/panel"))
    await frame.evaluate(
        "window.sdk.execute('redirect_to', {view: 'settings', context: {provider: 'xero'}})"
    )
    await page.wait_for_url("**/settings/apps/invoicing**")
    await page.wait_for_selector('.pd-ext[data-kind="settings"][data-sdk="ready"]')
    settings = page.frame(url=lambda u: "/pipedrive/panel" in u)
    assert settings is not None
    query = {k: v[0] for k, v in parse_qs(urlparse(settings.url).query).items()}
    assert (query["userId"], query["companyId"], query["provider"]) == ("102", "7001", "xero")
    assert "resource" not in query


async def test_collapsing_the_panel_tells_it_that_it_is_hidden(host, page):
    frame = await open_panel(page, host())
    await page.locator(".pd-ext-toggle").click()
    assert await page.locator("#panel").is_hidden()
    await frame.wait_for_function("window.events.length > 0")
    assert await frame.evaluate("window.events") == [
        ["visibility", {"data": {"is_visible": False}}]
    ]
    await page.locator(".pd-ext-toggle").click()
    assert await page.locator("#panel").is_visible()


async def test_redirect_to_a_deal_opens_its_page(host, page):
    frame = await open_panel(page, host())
    await frame.evaluate("window.sdk.execute('redirect_to', {view: 'deals', id: 32})")
    await page.wait_for_url("**/deal/32?**")
    assert "require_sdk=1" in page.url  # the host's switches travel along
    await page.wait_for_selector('.pd-ext[data-kind="panel"][data-sdk="ready"]')
