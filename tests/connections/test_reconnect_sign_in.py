"""The reconnect URL opened without our session signs in through Pipedrive's OAuth first."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from app.crm.pipedrive.service import STATE_PURPOSE
from app.kit.signing import Signer


async def test_connect_without_a_session_is_sent_to_sign_in_and_back(client, sandbox, flow):
    opened = await client.get("/connections/quickbooks/connect?from=intuit")
    assert opened.status_code == 303, opened.text
    start = urlsplit(opened.headers["location"])
    assert start.path == "/pipedrive/install"
    assert parse_qs(start.query)["next"] == ["/connections/quickbooks/connect?from=intuit"]

    await sandbox.http.post("/_sandbox/pipedrive/auto-approve", json={"user_id": 101})
    consent = await client.get(opened.headers["location"])
    assert consent.status_code == 302
    back = await sandbox.http.get(consent.headers["location"], follow_redirects=False)
    callback = urlsplit(back.headers["location"])
    signed_in = await client.get(f"{callback.path}?{callback.query}")
    assert signed_in.status_code == 303, signed_in.text
    target = urlsplit(signed_in.headers["location"])
    assert target.path == "/connections/quickbooks/connect"
    assert parse_qs(target.query)["from"] == ["intuit"] and "handoff" in parse_qs(target.query)

    to_provider = await client.get(signed_in.headers["location"])
    assert to_provider.status_code == 303
    assert "oauth2" in urlsplit(to_provider.headers["location"]).path  # Intuit's consent


async def test_sign_in_only_returns_to_a_path_on_this_site(client, settings):
    for bad, kept in [
        ("//evil.test/x", None),
        ("https://evil.test/", None),
        ("/\\evil.test", None),
        ("/connections/xero/connect", "/connections/xero/connect"),
    ]:
        start = await client.get("/pipedrive/install", params={"next": bad})
        assert start.status_code == 302
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        assert Signer(settings.secret_key, STATE_PURPOSE).unsign(state).get("next") == kept
