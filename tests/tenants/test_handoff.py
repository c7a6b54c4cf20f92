"""Sessions out of URLs: one-time codes (single use, a minute at most), the page cookie that
lets F5 sign in again, and session tokens refused in the query string."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.kit.signing import Signer
from app.tenants.handoff import HANDOFF_PURPOSE, HANDOFF_TTL_SECONDS, RELOAD_COOKIE
from app.tenants.models import SpentHandoff
from tests.support.sessions import session_of

# Every attribute that makes the browser (or htmx) request a URL.
URL_ATTRIBUTES = re.compile(
    r'\s(?:href|src|action|formaction|hx-get|hx-post|hx-put|hx-patch|hx-delete|data-url)="([^"]*)"'
)


def urls_in(page_html: str) -> list[str]:
    return URL_ATTRIBUTES.findall(page_html)


async def code_for(client: Any, headers: dict[str, str]) -> str:
    answer = await client.post("/api/v1/session/handoff", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["expires_in"] == HANDOFF_TTL_SECONDS <= 60
    return str(answer.json()["handoff"])


async def test_a_code_works_once_and_the_second_use_is_refused(
    client: Any, make_user: Any, auth_headers: Any, db: Any
) -> None:
    admin = await make_user()
    code = await code_for(client, auth_headers(admin))

    first = await client.get("/connections", params={"handoff": code})
    assert first.status_code == 200
    assert "Accounting connections" in first.text
    assert session_of(first.text)["X-Session-Token"]  # the page keeps a session in memory
    assert (await db.execute(select(SpentHandoff))).scalars().all() != []

    client.cookies.clear()  # the second use must stand on the code alone
    again = await client.get("/connections", params={"handoff": code})
    assert again.status_code == 401
    assert "already been used" in again.text


async def test_expired_foreign_and_forged_codes_are_refused(
    client: Any, make_user: Any, auth_headers: Any, settings: Any
) -> None:
    admin = await make_user()
    claims = {"u": admin.id, "c": admin.company_id}
    expired = Signer(settings.secret_key, HANDOFF_PURPOSE).sign(claims, -120)
    answer = await client.get("/connections", params={"handoff": expired})
    assert answer.status_code == 401
    assert "invalid or has expired" in answer.text
    # A session token is not a code (each purpose signs with its own key), nor is garbage.
    session_token = auth_headers(admin)["X-Session-Token"]
    for wrong in (
        session_token,
        "not-a-code",
        Signer("another-secret", HANDOFF_PURPOSE).sign(claims, 60),
    ):
        assert (await client.get("/connections", params={"handoff": wrong})).status_code == 401


async def test_session_tokens_in_the_query_string_are_not_a_sign_in(
    client: Any, make_user: Any, auth_headers: Any
) -> None:
    admin = await make_user()
    token = auth_headers(admin)["X-Session-Token"]
    assert (await client.get("/connections", params={"session": token})).status_code == 401
    assert (await client.get("/api/v1/me", params={"session": token})).status_code == 401
    assert (await client.get("/api/v1/me", headers={"X-Session-Token": token})).status_code == 200


async def test_a_reload_signs_in_again_from_the_page_cookie(
    client: Any, make_user: Any, auth_headers: Any
) -> None:
    admin = await make_user(name="Nora Admin")
    traded = await client.get(
        "/connections", params={"handoff": await code_for(client, auth_headers(admin))}
    )
    cookie = traded.headers["set-cookie"]
    assert cookie.startswith(f"{RELOAD_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https adds Secure
    assert "Max-Age=" in cookie

    # F5: the address no longer has the code, no header: the cookie signs in again.
    reload = await client.get("/connections")
    assert reload.status_code == 200
    assert "Nora Admin" in reload.text
    fresh = session_of(reload.text)
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 200
    # Another of our pages, opened by a plain link in the same browser, is signed in too.
    assert (await client.get("/preferences")).status_code == 200


async def test_the_page_cookie_changes_nothing_on_its_own(
    client: Any, make_user: Any, auth_headers: Any
) -> None:
    """Only a page's GET honours the cookie: anything that acts needs the session header, so a
    request forged from another site cannot use it."""
    admin = await make_user()
    traded = await client.get(
        "/connections", params={"handoff": await code_for(client, auth_headers(admin))}
    )
    assert traded.status_code == 200 and client.cookies.get(RELOAD_COOKIE)
    assert (await client.delete("/connections/xero")).status_code == 401
    assert (await client.post("/preferences/xero", data={})).status_code == 401
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.post("/api/v1/session/handoff")).status_code == 401


async def test_a_code_for_an_uninstalled_user_is_refused(
    client: Any, make_user: Any, auth_headers: Any, db: Any
) -> None:
    from app.tenants.models import CrmUser

    user = await make_user()
    code = await code_for(client, auth_headers(user))
    await db.delete(await db.get(CrmUser, user.id))
    await db.commit()
    assert (await client.get("/pipedrive/installed", params={"handoff": code})).status_code == 401


async def test_standalone_pages_put_no_session_in_any_url(
    client: Any, make_user: Any, auth_headers: Any
) -> None:
    admin = await make_user()
    pages = []
    for path in ("/connections", "/pipedrive/installed", "/preferences"):
        page = await client.get(
            path, params={"handoff": await code_for(client, auth_headers(admin))}
        )
        assert page.status_code == 200, path
        pages.append(page.text)
    card = await client.delete("/connections/quickbooks", headers=auth_headers(admin))
    pages.append(card.text)
    for text in pages:
        urls = urls_in(text)
        assert urls, "the scan found the page's links"
        assert not [u for u in urls if "session=" in u or "handoff=" in u]
    assert 'href="/connections/xero/connect" data-session-link' in pages[0]
