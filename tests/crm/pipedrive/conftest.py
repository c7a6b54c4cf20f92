"""Helpers for the Pipedrive tests: installed users and Pipedrive-style JWTs."""

from __future__ import annotations

import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from app.config import Settings
from app.crm.pipedrive.models import PipedriveInstallation
from app.tenants.models import CrmUser

Install = Callable[..., Awaitable[tuple[CrmUser, PipedriveInstallation]]]


@pytest.fixture
def install(make_user: Any, sessionmaker: Any) -> Install:
    """A user with an installation row (tokens, api_domain) as if they had installed."""

    async def _install(
        pipedrive_company_id: int = 7001,
        pipedrive_user_id: int = 101,
        is_admin: bool = True,
        api_domain: str = "https://pd.test",
        expires_in: float = 3600,
        access_token: str = "access-1",
        refresh_token: str = "refresh-1",
    ) -> tuple[CrmUser, PipedriveInstallation]:
        user = await make_user(
            pipedrive_company_id=pipedrive_company_id,
            pipedrive_user_id=pipedrive_user_id,
            is_admin=is_admin,
        )
        async with sessionmaker() as session:
            row = PipedriveInstallation(
                company_id=user.company_id,
                user_id=user.id,
                access_token=access_token,
                refresh_token=refresh_token,
                expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
                api_domain=api_domain,
                scopes="base deals:read",
            )
            session.add(row)
            await session.commit()
        return user, row

    return _install


def sign_jwt(secret: str, claims: dict[str, Any], alg: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode({"alg": alg, "typ": "JWT"}, claims, OctKey.import_key(secret), [alg])


@pytest.fixture
def pipedrive_jwt(settings: Settings) -> Callable[..., str]:
    """A JWT as Pipedrive signs it for iframes (client secret, userId/companyId, iat/exp)."""

    def _make(user_id: int = 101, company_id: int = 7001, **over: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "userId": user_id,
            "companyId": company_id,
            "iat": now,
            "exp": now + 300,
        }
        claims.update(over)
        claims = {k: v for k, v in claims.items() if v is not None}
        secret = settings.pipedrive.jwt_secret or settings.pipedrive.client_secret
        return sign_jwt(secret, claims)

    return _make


@pytest.fixture
async def fake_pipedrive(app: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch):
    """The scripted Pipedrive of tests/crm/pipedrive/fake.py, in place of the real network."""
    import httpx2

    from app.crm.pipedrive.client import FieldDefinitionCache
    from app.crm.pipedrive.oauth import callback_url
    from tests.crm.pipedrive.fake import BASE, FakePipedriveWorld

    world = FakePipedriveWorld(
        settings.pipedrive.client_id, settings.pipedrive.client_secret, callback_url(settings)
    )
    # Starlette's State keeps attributes in a dict of its own, so swap by hand, not monkeypatch.
    original = app.state.http
    monkeypatch.setattr(settings.pipedrive, "oauth_url", f"{BASE}/oauth")
    async with httpx2.AsyncClient(transport=world.transport()) as http:
        app.state.http = http
        app.state.pipedrive_fields = FieldDefinitionCache()
        try:
            yield world
        finally:
            app.state.http = original
            app.state.pipedrive_fields = FieldDefinitionCache()
