"""Terms of service, Privacy policy and Support (Marketplace requirements): served by us by
default, linked from the install and settings pages, the links configurable."""

from __future__ import annotations

import re


def links(html: str) -> dict[str, str]:
    return {name: href for href, name in re.findall(r'<a href="([^"]+)" id="link-(\w+)"', html)}


async def test_our_pages_are_served_and_linked_from_install_and_settings(
    client, make_user, auth_headers
):
    home = await client.get("/")
    assert links(home.text) == {
        "terms": "/legal/terms",
        "privacy": "/legal/privacy",
        "support": "/support",
    }
    for path, heading in [
        ("/legal/terms", "Terms of service"),
        ("/legal/privacy", "Privacy policy"),
        ("/support", "Support"),
    ]:
        page = await client.get(path)
        assert page.status_code == 200
        assert f"<h1>{heading}</h1>" in page.text
    denied = await client.get("/pipedrive/callback", params={"error": "user_denied"})
    assert links(denied.text)["privacy"] == "/legal/privacy"
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    settings_page = await client.get("/preferences", headers=auth_headers(admin))
    assert settings_page.status_code == 200
    assert links(settings_page.text)["terms"] == "/legal/terms"


async def test_configured_urls_replace_ours(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "terms_url", "https://vendor.example/terms")
    monkeypatch.setattr(settings, "support_email", "help@vendor.example")
    home = await client.get("/")
    assert links(home.text)["terms"] == "https://vendor.example/terms"
    assert links(home.text)["support"] == "/support"
    support = await client.get("/support")
    assert 'href="mailto:help@vendor.example"' in support.text
