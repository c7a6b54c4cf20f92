"""The stand-in's pages: the deal page hosting our panel with a signed JWT (reference
pipedrive.md §3.1), the company home page and the user picker."""

from __future__ import annotations

import html
import json
import re
import time
from urllib.parse import parse_qs, urlparse

from joserfc import jwt
from joserfc.jwk import OctKey

from tests.sandbox.pipedrive.conftest import JWT_SECRET, NORTHWIND


def panel_src(page: str) -> str:
    # The host script sets src from data-src once it listens for the frame's SDK.
    match = re.search(r'<iframe[^>]*id="panel"[^>]*data-src="([^"]+)"', page)
    assert match, "no panel iframe"
    return html.unescape(match.group(1))


def host_config(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="pd-host-config">([^<]+)</script>', page)
    assert match, "no host configuration"
    config: dict = json.loads(match.group(1))
    return config


def verify(token: str) -> dict:
    claims = jwt.decode(token, OctKey.import_key(JWT_SECRET), algorithms=["HS256"]).claims
    return dict(claims)


async def test_deal_page_shows_the_deal_and_a_panel_with_a_verifiable_jwt(pd):
    page = await pd.http.get(f"{NORTHWIND}/deal/31", params={"user_id": 102})
    assert page.status_code == 200
    for text in ("Acme rollout", "Acme Ltd", "Alice Buyer", "Consulting hour", "Annual licence"):
        assert text in page.text
    src = panel_src(page.text)
    assert src.startswith(f"{pd.receiver.url}/pipedrive/panel?")
    query = {k: v[0] for k, v in parse_qs(urlparse(src).query).items()}
    assert query["resource"] == "deal" and query["view"] == "details"
    assert (query["userId"], query["companyId"], query["selectedIds"]) == ("102", "7001", "31")
    assert query["theme"] == "light" and len(query["id"]) == 36
    claims = verify(query["token"])
    assert (claims["userId"], claims["companyId"]) == (102, 7001)
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 60


async def test_token_signed_with_another_secret_does_not_verify(pd):
    page = await pd.http.get(f"{NORTHWIND}/deal/31")
    token = parse_qs(urlparse(panel_src(page.text)).query)["token"][0]
    try:
        jwt.decode(token, OctKey.import_key("another-secret-0123456789abc"), algorithms=["HS256"])
    except Exception as exc:  # joserfc raises BadSignatureError
        assert "signature" in type(exc).__name__.lower()
    else:
        raise AssertionError("a token verified with the wrong secret")


async def test_dark_theme_is_passed_to_the_panel(pd):
    page = await pd.http.get(f"{NORTHWIND}/deal/32", params={"user_id": 101, "theme": "dark"})
    assert 'data-theme="dark"' in page.text
    assert parse_qs(urlparse(panel_src(page.text)).query)["theme"] == ["dark"]
    assert ">Light theme</button>" in page.text  # the switch back
    assert host_config(page.text)["theme"] == "dark"


async def test_page_answers_get_signed_token_with_a_fresh_token(pd):
    page = await pd.http.get(f"{NORTHWIND}/deal/31", params={"user_id": 101})
    assert "/_sandbox/static/pipedrive/host.js" in page.text
    token_url = host_config(page.text)["tokenUrl"]
    await pd.advance(600)  # the iframe's first token is now stale
    fresh = (await pd.http.get(token_url)).json()["token"]
    claims = verify(fresh)
    assert (claims["userId"], claims["companyId"]) == (101, 7001)
    assert claims["iat"] >= time.time() + 590


async def test_deal_page_for_deleted_missing_or_other_companys_deal_is_404(pd):
    assert (await pd.http.get(f"{NORTHWIND}/deal/36")).status_code == 404
    assert (await pd.http.get(f"{NORTHWIND}/deal/131")).status_code == 404
    assert (await pd.http.get(f"{NORTHWIND}/deal/31", params={"user_id": 201})).status_code == 404
    assert (await pd.http.get("/pipedrive/c/nowhere/deal/31")).status_code == 404


async def test_deal_page_without_products(pd):
    page = await pd.http.get(f"{NORTHWIND}/deal/34")
    assert "No products on this deal." in page.text


async def test_home_page_lists_deals_and_index_lists_users(pd):
    home = await pd.http.get(f"{NORTHWIND}/", params={"user_id": 101})
    assert home.status_code == 200
    for title in ("Acme rollout", "Globex licences", "Walk-in sale"):
        assert title in home.text
    assert "Old deal (deleted)" not in home.text
    index = await pd.http.get("/pipedrive/")
    for name in ("Nora Admin", "Sam Sales", "Colin Admin", "Rita Rep"):
        assert name in index.text
