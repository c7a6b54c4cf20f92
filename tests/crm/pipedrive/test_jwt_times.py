"""Pipedrive JWTs must carry ``iat`` and ``exp``, within 60 s of clock skew: over real HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2
import pytest
from joserfc import jws

from tests.crm.pipedrive.test_sandbox_flows import iframe_query, install_through_sandbox


def claims(**times: Any) -> dict[str, Any]:
    """``iat``/``exp`` overrides: ints are seconds from now, None drops the claim."""
    now = int(time.time())
    base: dict[str, Any] = {"iat": now, "exp": now + 300}
    for name, value in times.items():
        is_offset = isinstance(value, int) and not isinstance(value, bool)
        base[name] = now + value if is_offset else value
    return base


@pytest.fixture
async def server(app_server: str):
    async with httpx2.AsyncClient(base_url=app_server, timeout=30) as http:
        yield http


BAD = [
    pytest.param({"exp": None}, "has no exp claim", id="no-exp"),
    pytest.param({"iat": None}, "has no iat claim", id="no-iat"),
    pytest.param({"iat": None, "exp": None}, "has no iat claim", id="neither"),
    pytest.param({"iat": 120, "exp": 420}, "issued in the future", id="iat-120s-ahead"),
    pytest.param({"iat": -420, "exp": -120}, "has expired", id="exp-120s-ago"),
    pytest.param({"iat": "yesterday"}, "iat claim is not a time", id="iat-not-a-time"),
    pytest.param({"exp": True}, "exp claim is not a time", id="exp-boolean"),
    pytest.param({"iat": -7200, "exp": 300}, "too old", id="iat-two-hours-old"),
]


@pytest.mark.parametrize(("times", "message"), BAD)
async def test_bad_token_times_are_401_in_plain_words(
    server, install, pipedrive_jwt, times, message
):
    await install()
    token = pipedrive_jwt(**claims(**times))
    exchanged = await server.post("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert exchanged.status_code == 401, exchanged.text
    assert message in exchanged.json()["error"]["message"]
    page = await server.get(
        "/preferences", params={"token": token, "userId": "101", "companyId": "7001"}
    )
    assert page.status_code == 401
    assert message in page.text
    assert '<meta name="session-token"' not in page.text


@pytest.mark.parametrize(
    "times",
    [
        pytest.param({}, id="fresh"),
        pytest.param({"iat": 30, "exp": 330}, id="iat-30s-ahead"),
        pytest.param({"iat": -330, "exp": -30}, id="exp-30s-ago"),
    ],
)
async def test_token_within_the_skew_signs_in(server, install, pipedrive_jwt, times):
    user, _ = await install()
    token = pipedrive_jwt(**claims(**times))
    exchanged = await server.post("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert exchanged.status_code == 200, exchanged.text
    assert exchanged.json()["user"]["id"] == user.id
    me = await server.get(
        "/api/v1/me", headers={"X-Session-Token": exchanged.json()["session_token"]}
    )
    assert me.status_code == 200


async def test_sandbox_signs_iat_and_exp_and_its_token_signs_in(client, sandbox, server):
    await install_through_sandbox(client, sandbox, 101)
    query = await iframe_query(sandbox, 101, "northwind", 31)
    sent = json.loads(jws.extract_compact(query["token"].encode()).payload)
    assert sent["exp"] - sent["iat"] == 300
    assert abs(sent["iat"] - time.time()) < 60
    page = await server.get(
        "/preferences",
        params={k: query[k] for k in ("userId", "companyId", "token")},
    )
    assert page.status_code == 200, page.text
    assert '<meta name="session-token"' in page.text
