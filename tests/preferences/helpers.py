from __future__ import annotations

from tests.support.sessions import trade_handoff


async def install_via_oauth(client, code: str) -> dict[str, str]:
    """Install as the fake Pipedrive's user behind ``code``; returns our session header."""
    response = await client.get("/pipedrive/callback", params={"code": code})
    assert response.status_code == 303, response.text
    _, headers = await trade_handoff(client, response.headers["location"])
    return headers
