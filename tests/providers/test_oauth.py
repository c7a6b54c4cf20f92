"""Provider OAuth calls: authorize URLs with PKCE, token answers and failures, id_token claims."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from app.config import QuickBooksSettings, XeroSettings
from app.kit.oauth import token_set_from_json
from app.providers.errors import ProviderAuthError, ProviderNotFound, ProviderUnavailable
from app.providers.jsonutil import loads
from app.providers.quickbooks.oauth import QuickBooksOAuth
from app.providers.xero.oauth import XeroOAuth
from tests.providers.fakes import Recorder, json_response

XERO = XeroSettings(
    client_id="xero-client",
    client_secret="xero-secret",
    login_url="https://login.xero.test",
    identity_url="https://identity.xero.test",
    api_url="https://api.xero.test",
)
QBO = QuickBooksSettings(
    client_id="qbo-client",
    client_secret="qbo-secret",
    appcenter_url="https://appcenter.test",
    oauth_url="https://oauth.test",
    developer_api_url="https://developer.test",
)
NOW = datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
TOKENS = {
    "access_token": "at",
    "refresh_token": "rt",
    "expires_in": 1800,
    "token_type": "Bearer",
    "scope": "openid offline_access accounting.invoices",
    "id_token": "x.y.z",
}


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_xero_authorize_url_with_pkce() -> None:
    oauth = XeroOAuth(XERO, httpx2.AsyncClient())
    auth = oauth.authorization_request(redirect_uri="https://app.test/cb", state="s-1")
    assert auth.url.startswith("https://login.xero.test/identity/connect/authorize?")
    params = query(auth.url)
    assert params["response_type"] == "code" and params["client_id"] == "xero-client"
    assert params["redirect_uri"] == "https://app.test/cb" and params["state"] == "s-1"
    assert "offline_access" in params["scope"].split()
    assert params["code_challenge_method"] == "S256"
    assert auth.code_verifier and 43 <= len(auth.code_verifier) <= 128
    digest = hashlib.sha256(auth.code_verifier.encode()).digest()
    assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_quickbooks_authorize_url_without_pkce() -> None:
    oauth = QuickBooksOAuth(QBO, httpx2.AsyncClient())
    auth = oauth.authorization_request(redirect_uri="https://app.test/qcb", state="s-2")
    assert auth.url.startswith("https://appcenter.test/connect/oauth2?")
    params = query(auth.url)
    assert params["scope"].startswith("com.intuit.quickbooks.accounting")
    assert "code_challenge" not in params and auth.code_verifier is None
    assert oauth.reconnect_url("app-1", "9130") == (
        "https://appcenter.test/app/connect/oauth2/request?appId=app-1&realmId=9130&mode=reconnect"
    )


def test_token_set_lifetimes_are_aware_instants() -> None:
    tokens = token_set_from_json(
        {**TOKENS, "x_refresh_token_expires_in": 8726400, "x_refresh_token_hard_expires_in": 99},
        NOW,
    )
    assert tokens.expires_at == NOW + timedelta(seconds=1800)
    assert tokens.refresh_expires_at == NOW + timedelta(seconds=8726400)
    assert tokens.refresh_hard_expires_at == NOW + timedelta(seconds=99)
    assert tokens.scopes == ("openid", "offline_access", "accounting.invoices")
    secret = token_set_from_json({"access_token": "SECRET-A", "refresh_token": "SECRET-R"}, NOW)
    assert "SECRET" not in repr(secret)  # tokens never reach logs through repr


async def test_xero_code_exchange_and_refresh_requests() -> None:
    recorder = Recorder(lambda r: json_response(200, TOKENS))
    oauth = XeroOAuth(XERO, recorder.client())
    tokens = await oauth.exchange_code(
        code="c-1", redirect_uri="https://app.test/cb", code_verifier="v" * 43, now=NOW
    )
    assert tokens.access_token == "at" and tokens.refresh_token == "rt"
    sent = recorder.last()
    assert str(sent.url) == "https://identity.xero.test/connect/token"
    assert (
        sent.headers["Authorization"]
        == "Basic " + base64.b64encode(b"xero-client:xero-secret").decode()
    )
    assert query("?" + sent.content.decode()) == {
        "grant_type": "authorization_code",
        "code": "c-1",
        "redirect_uri": "https://app.test/cb",
        "code_verifier": "v" * 43,
    }
    await oauth.refresh("rt-old")
    assert query("?" + recorder.last().content.decode()) == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-old",
    }


async def test_quickbooks_refresh_asks_for_the_hard_expiry_and_revoke_is_json() -> None:
    recorder = Recorder(lambda r: json_response(200, TOKENS))
    oauth = QuickBooksOAuth(QBO, recorder.client())
    await oauth.refresh("rt-1")
    assert str(recorder.last().url) == "https://oauth.test/oauth2/v1/tokens/bearer"
    assert recorder.last().headers["x-include-refresh-token-hard-expires-in"] == "true"
    await oauth.revoke("rt-1")
    sent = recorder.last()
    assert str(sent.url) == "https://developer.test/v2/oauth2/tokens/revoke"
    assert loads(sent.content) == {"token": "rt-1"}


@pytest.mark.parametrize(
    ("status", "body", "error", "reason"),
    [
        (400, {"error": "invalid_grant"}, ProviderAuthError, "invalid_grant"),
        (400, {"error": "invalid_grant", "error_description": "Token invalid"}, ProviderAuthError,
         "invalid_grant"),
        (401, {"error": "invalid_client"}, ProviderAuthError, "client"),
        (400, {"error": "invalid_request"}, ProviderAuthError, "invalid_request"),
        (503, {}, ProviderUnavailable, None),
    ],
)  # fmt: skip
async def test_token_failures(
    status: int, body: dict[str, Any], error: type, reason: str | None
) -> None:
    oauth = XeroOAuth(XERO, Recorder(lambda r: json_response(status, body)).client())
    with pytest.raises(error) as exc:
        await oauth.refresh("rt")
    if reason:
        assert exc.value.reason == reason
        assert exc.value.status_code == 409


async def test_lost_refresh_answer_is_unavailable_with_unknown_outcome() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("lost", request=request)

    oauth = XeroOAuth(XERO, Recorder(handler).client())
    with pytest.raises(ProviderUnavailable) as exc:
        await oauth.refresh("rt")
    assert exc.value.outcome_unknown


async def test_xero_connections_and_disconnect() -> None:
    listing = [
        {"id": "7cb59f93", "tenantId": "fe79f7dd", "authEventId": "ae-1",
         "tenantType": "ORGANISATION", "tenantName": "Demo Company (NZ)",
         "createdDateUtc": "2019-12-07T18:46:19.5165400", "updatedDateUtc": None},
    ]  # fmt: skip

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET":
            return json_response(200, listing)
        return httpx2.Response(404 if request.url.path.endswith("gone") else 204)

    recorder = Recorder(handler)
    oauth = XeroOAuth(XERO, recorder.client())
    (connection,) = await oauth.connections("at", auth_event_id="ae-1")
    assert (connection.id, connection.tenant_id, connection.tenant_name) == (
        "7cb59f93", "fe79f7dd", "Demo Company (NZ)")  # fmt: skip
    assert connection.created_at is not None and connection.created_at.tzinfo is not None
    assert recorder.last().url.params["authEventId"] == "ae-1"
    await oauth.delete_connection("at", "7cb59f93")
    assert recorder.last().method == "DELETE"
    assert str(recorder.last().url) == "https://api.xero.test/connections/7cb59f93"
    await oauth.delete_connection("at", "gone")  # already gone is fine


async def test_xero_connections_refused_token() -> None:
    oauth = XeroOAuth(XERO, Recorder(lambda r: json_response(401, {})).client())
    with pytest.raises(ProviderAuthError):
        await oauth.connections("at")
    oauth = XeroOAuth(XERO, Recorder(lambda r: json_response(404, {})).client())
    with pytest.raises(ProviderNotFound):
        await oauth.connections("at")


def id_token(**claims: Any) -> str:
    base = {"sub": "s-1", "aud": "xero-client", "exp": int(time.time()) + 300,
            "email": "nora@northwind.test", "xero_userid": "u-1", "given_name": "Nora"}  # fmt: skip
    base.update(claims)
    return jwt.encode({"alg": "HS256"}, base, OctKey.import_key(b"k" * 32))


def test_id_token_claims() -> None:
    oauth = XeroOAuth(XERO, httpx2.AsyncClient())
    claims = oauth.identity(id_token())
    assert (claims.email, claims.provider_user_id, claims.given_name) == (
        "nora@northwind.test", "u-1", "Nora")  # fmt: skip
    with pytest.raises(ProviderAuthError, match="another app"):
        oauth.identity(id_token(aud="someone-else"))
    with pytest.raises(ProviderAuthError, match="expired"):
        oauth.identity(id_token(exp=int(time.time()) - 3600))
    with pytest.raises(ProviderAuthError, match="unreadable"):
        oauth.identity("not-a-jwt")
    qbo = QuickBooksOAuth(QBO, httpx2.AsyncClient())
    assert (
        qbo.identity(
            id_token(aud=["qbo-client"], realmid="9130", xero_userid=None)
        ).provider_user_id
        == "9130"
    )
