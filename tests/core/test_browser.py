"""The pages load in a real browser with our CSP: htmx runs, no script is blocked."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


async def test_home_page_loads_htmx_under_the_csp(app_server, page):
    response = await page.goto(app_server + "/")
    assert response.status == 200
    assert await page.title() == "CRM Invoicing"
    assert await page.evaluate("typeof window.htmx") == "object"
    assert await page.evaluate("htmx.version") == "2.0.11"
    assert page.js_errors == []


async def test_api_reference_renders_from_vendored_assets(app_server, page):
    await page.goto(app_server + "/docs")
    await page.wait_for_selector("text=CRM Invoicing", timeout=15000)
    assert page.js_errors == []


async def test_dark_theme_is_selectable(app_server, page):
    await page.goto(app_server + "/?theme=dark")
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 25, 31)"
