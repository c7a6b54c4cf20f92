"""The host's server side (reference pipedrive.md §3.1): the custom modal's URL for OPEN_MODAL,
the app-settings page, and how strictly the host enforces the SDK's initialisation."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlparse

import httpx2

from sandbox.app import create_sandbox_app
from tests.sandbox.pipedrive.conftest import NORTHWIND, make_settings
from tests.sandbox.pipedrive.test_pages import host_config, verify


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


async def test_the_host_requires_the_sdk_unless_told_not_to(pd):
    page = await pd.http.get(f"{NORTHWIND}/deal/31", params={"user_id": 101})
    config = host_config(page.text)
    assert (config["requireSdk"], config["timeoutMs"]) == (True, 10_000)
    assert config["appOrigin"] == pd.receiver.url
    page = await pd.http.get(
        f"{NORTHWIND}/deal/31", params={"user_id": 101, "require_sdk": "0", "sdk_timeout_ms": "250"}
    )
    assert (host_config(page.text)["requireSdk"], host_config(page.text)["timeoutMs"]) == (
        False,
        250,
    )


async def test_the_sandbox_setting_turns_the_requirement_on_and_a_query_can_turn_it_off(receiver):
    settings = make_settings(receiver, pipedrive_require_sdk=True)
    app = create_sandbox_app(settings, reset=True, seed="demo")
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=settings.public_url) as http:
        page = await http.get(f"{NORTHWIND}/deal/31")
        assert host_config(page.text)["requireSdk"] is True
        page = await http.get(f"{NORTHWIND}/deal/31", params={"require_sdk": "0"})
        assert host_config(page.text)["requireSdk"] is False


async def test_modal_url_frames_the_registered_custom_modal_with_its_data(pd):
    response = await pd.http.get(
        f"{NORTHWIND}/extensions/modal-url",
        params={
            "user_id": 102,
            "action_id": "create-invoice",
            "deal_id": 31,
            "theme": "dark",
            "data": '{"provider": "xero"}',
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["url"].startswith(f"{pd.receiver.url}/pipedrive/modal/create-invoice?")
    query = query_of(body["url"])
    assert (query["resource"], query["view"], query["selectedIds"]) == ("deal", "details", "31")
    assert (query["userId"], query["companyId"], query["theme"]) == ("102", "7001", "dark")
    assert query["id"] == body["id"] and query["data"] == '{"provider":"xero"}'
    claims = verify(query["token"])
    assert (claims["userId"], claims["companyId"]) == (102, 7001)


async def test_modal_url_refuses_unknown_modals_users_and_other_companies_deals(pd):
    url = f"{NORTHWIND}/extensions/modal-url"
    base = {"user_id": 102, "action_id": "create-invoice"}
    unknown = await pd.http.get(url, params={**base, "action_id": "nope", "deal_id": 31})
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]
    for deal in (131, 36, "x"):  # another company's, deleted, not an id
        response = await pd.http.get(url, params={**base, "deal_id": deal})
        assert response.status_code == 404, deal
    stranger = await pd.http.get(url, params={**base, "user_id": 201, "deal_id": 31})
    assert stranger.status_code == 404


async def test_app_settings_page_frames_our_settings_with_the_redirect_context(pd):
    page = await pd.http.get(
        f"{NORTHWIND}/settings/apps/invoicing",
        params={
            "user_id": 101,
            "provider": "xero",
            "path": "/elsewhere",  # a context key, whatever its name
            "userId": 999,  # never over Pipedrive's own
            "require_sdk": "1",
        },
    )
    assert page.status_code == 200
    assert 'data-kind="settings"' in page.text
    match = re.search(r'id="app-settings"[^>]*data-src="([^"]+)"', page.text)
    assert match
    src = html.unescape(match.group(1))
    assert src.startswith(f"{pd.receiver.url}/preferences?")
    query = query_of(src)
    assert (query["userId"], query["companyId"], query["provider"]) == ("101", "7001", "xero")
    assert query["path"] == "/elsewhere"
    assert "require_sdk" not in query and "resource" not in query
    assert verify(query["token"])["userId"] == 101
    assert host_config(page.text)["requireSdk"] is True


async def test_app_settings_for_an_unknown_company_is_404(pd):
    assert (await pd.http.get("/pipedrive/c/nowhere/settings/apps/invoicing")).status_code == 404


async def test_the_host_script_and_the_vendored_sdk_are_served(pd):
    script = await pd.http.get("/_sandbox/static/pipedrive/host.js")
    assert script.status_code == 200 and "get_signed_token" in script.text
    sdk = await pd.http.get("/_sandbox/static/vendor/app-extensions-sdk-0.15.1/index.umd.js")
    assert sdk.status_code == 200 and "AppExtensionsSDK" in sdk.text
