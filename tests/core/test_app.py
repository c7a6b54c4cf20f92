"""The app factory: health, readiness, error rendering, security headers, request ids."""

from __future__ import annotations

import httpx2
from cryptography.fernet import Fernet
from fastapi import Request
from sqlalchemy import text

from app.config import load_settings
from app.main import create_app
from app.tenants.models import Company
from app.web import DbSession


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_ok_on_migrated_database(client):
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "token_keys": "ok"}


async def test_readyz_503_when_database_unreachable(tmp_path):
    settings = load_settings(
        app_env="test",
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        var_dir=tmp_path,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
            response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")


async def test_readyz_503_when_schema_is_behind(tmp_path):
    settings = load_settings(
        app_env="test", database_url=f"sqlite+aiosqlite:///{tmp_path}/empty.db", var_dir=tmp_path
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
            response = await c.get("/readyz")
    assert response.status_code == 503
    assert "invoicing migrate" in response.json()["checks"]["migrations"]


async def test_readyz_503_names_a_token_encrypted_with_a_dropped_key(
    settings, make_user, sessionmaker
):
    from datetime import UTC, datetime

    from app.crm.pipedrive.models import PipedriveInstallation

    user = await make_user()
    async with sessionmaker() as session:
        session.add(
            PipedriveInstallation(
                company_id=user.company_id,
                user_id=user.id,
                access_token="a",
                refresh_token="r",
                expires_at=datetime.now(UTC),
                api_domain="https://x.pipedrive.com",
            )
        )
        await session.commit()
    other = settings.model_copy(update={"token_keys": Fernet.generate_key().decode()})
    app = create_app(other)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
                response = await c.get("/readyz")
        assert response.status_code == 503
        assert "pipedrive_installation.access_token" in response.json()["checks"]["token_keys"]
    finally:
        # The keyring is process-wide: give the other tests their key back.
        create_app(settings)


async def test_api_errors_are_json_and_pages_are_html(client):
    api = await client.get("/api/v1/nothing-here")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/json")
    assert api.json()["error"]["code"] == "not_found"
    page = await client.get("/nothing-here")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text


async def test_unauthorized_page_is_html_with_plain_message(client):
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert "sign in from Pipedrive" in response.json()["error"]["message"]


async def test_security_headers_and_request_id(client, settings):
    response = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    csp = response.headers["content-security-policy"]
    ancestors = csp.split("frame-ancestors", 1)[1]
    assert "https://*.pipedrive.com" in ancestors
    assert settings.public_url in ancestors
    assert "*" not in ancestors.replace("https://*.pipedrive.com", "")
    assert response.headers["x-content-type-options"] == "nosniff"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32


async def test_docs_serve_vendored_swagger(client):
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "/static/vendor/swagger-ui-bundle.js" in docs.text
    asset = await client.get("/static/vendor/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "CRM Invoicing"


async def test_failed_commit_is_an_error_response_and_nothing_is_written(settings, db):
    """The request boundary commits before answering, so a failing commit is never a 200."""
    app = create_app(settings)

    @app.post("/api/v1/_test/two-companies")
    async def two_companies(request: Request, session: DbSession) -> dict[str, str]:
        session.add(Company(pipedrive_company_id=424242, domain="a", name="A"))
        session.add(Company(pipedrive_company_id=424242, domain="b", name="B"))
        return {"status": "ok"}

    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
            response = await c.post("/api/v1/_test/two-companies")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    count = (
        await db.execute(text("SELECT COUNT(*) FROM company WHERE pipedrive_company_id = 424242"))
    ).scalar_one()
    assert count == 0


async def test_home_page_shows_the_demo_steps_when_on_the_sandbox(client, settings):
    response = await client.get("/")
    assert response.status_code == 200
    assert 'href="/pipedrive/install"' in response.text
    assert f"{settings.sandbox_url}/_sandbox/docs" in response.text
