"""In a real browser: the deal page hosts our panel cross-origin and answers the panel's
GET_SIGNED_TOKEN message with a fresh JWT (reference pipedrive.md §3.1, SDK commands)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from sandbox.app import create_sandbox_app
from tests.sandbox.pipedrive.conftest import JWT_SECRET, Receiver, make_settings
from tests.support.servers import ServerThread, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's Chromium is not installed"),
]


@pytest.fixture
def sandbox_url(receiver: Receiver) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_sandbox_app(make_settings(receiver, public_url=url), reset=True, seed="demo")
    server = ServerThread(app, port).start()
    try:
        yield url
    finally:
        server.stop()


async def test_panel_gets_a_fresh_signed_token_from_the_deal_page(sandbox_url, receiver):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(f"{sandbox_url}/pipedrive/c/northwind/deal/31?user_id=102")
            out = page.frame_locator("#panel").locator("#out")
            await out.filter(has_text="SIGNED_TOKEN").wait_for(timeout=10_000)
            answer = json.loads(await out.inner_text())
        finally:
            await browser.close()
    assert answer["type"] == "SIGNED_TOKEN" and answer["requestId"] == "req-1"
    claims = jwt.decode(answer["token"], OctKey.import_key(JWT_SECRET), algorithms=["HS256"]).claims
    assert (claims["userId"], claims["companyId"]) == (102, 7001)
