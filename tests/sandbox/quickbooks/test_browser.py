"""A person clicks through the QuickBooks consent page in a real browser."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from app.config import Settings
from tests.sandbox.quickbooks.conftest import REALM
from tests.support.sandbox import SandboxControl

pytestmark = pytest.mark.browser


async def test_consent_page_connect_and_cancel(
    sandbox: SandboxControl, settings: Settings, page: Any, app_server: str
) -> None:
    callback = f"{settings.public_url}/connections/quickbooks/callback"
    # The product serves the callback (and refuses this made-up state); only where the consent
    # page redirects matters here, so errors from loading product URLs are not the page's.
    query = urlencode(
        {
            "client_id": settings.quickbooks.client_id,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": callback,
            "state": "browser-state",
        }
    )
    url = f"{sandbox.url}/quickbooks/appcenter/connect/oauth2?{query}"
    await page.goto(url)
    await page.select_option("#realm_id", REALM)
    await page.click("button[value=allow]")
    await page.wait_for_url(callback + "*")
    params = parse_qs(urlparse(page.url).query)
    assert params["realmId"] == [REALM] and params["state"] == ["browser-state"]
    assert params["code"][0]
    await page.goto(url)
    await page.click("button[value=deny]")
    await page.wait_for_url(callback + "*")
    assert parse_qs(urlparse(page.url).query)["error"] == ["access_denied"]
    own_errors = [e for e in page.js_errors if settings.public_url not in e]
    assert own_errors == [], own_errors
