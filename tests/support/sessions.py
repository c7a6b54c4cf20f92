"""Signing in the way a browser does: follow a one-time ``handoff`` link, read the session the
page carries (its meta tag), as our pages' scripts do."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from app.tenants.handoff import RELOAD_COOKIE

META = re.compile(r'<meta name="session-token" content="([^"]+)">')


def without_handoff(location: str) -> str:
    """The address as the page's script leaves it: the spent code taken out."""
    parts = urlsplit(location)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "handoff"])
    return parts.path + (f"?{query}" if query else "")


def session_of(page_html: str) -> dict[str, str]:
    """The session header of a rendered page (from its ``session-token`` meta tag)."""
    found = META.search(page_html)
    assert found, "the page carries no session"
    return {"X-Session-Token": found.group(1)}


async def trade_handoff(
    client, location: str, keep_cookie: bool = False
) -> tuple[str, dict[str, str]]:
    """Trade the one-time code ``location`` carries on our lightest page (no Pipedrive call,
    so nothing is cached on the way); return the address without the code and the session
    header. ``keep_cookie`` keeps the page's reload cookie in the client, as a browser would;
    by default it is dropped, so the client signs in by header only, like an API client."""
    assert "session=" not in location
    code = dict(parse_qsl(urlsplit(location).query)).get("handoff")
    assert code, location
    page = await client.get("/pipedrive/installed", params={"handoff": code})
    assert page.status_code == 200, page.text
    if not keep_cookie:
        client.cookies.delete(RELOAD_COOKIE)
    return without_handoff(location), session_of(page.text)
