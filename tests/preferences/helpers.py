from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


async def install_via_oauth(client, code: str) -> dict[str, str]:
    """Install as the fake Pipedrive's user behind ``code``; returns our session header."""
    response = await client.get("/pipedrive/callback", params={"code": code})
    assert response.status_code == 303, response.text
    token = parse_qs(urlsplit(response.headers["location"]).query)["session"][0]
    return {"X-Session-Token": token}
