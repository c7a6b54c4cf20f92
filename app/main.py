"""The application factory."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import app.models  # noqa: F401 - every table on the metadata (the purge walks them all)
from app.automation.pages import router as automation_pages
from app.automation.routes import router as automation_router
from app.config import Settings, get_settings
from app.connections.hooks import add_after_connect
from app.connections.routes import api as connections_api
from app.connections.routes import pages as connections_pages
from app.connections.service import connections_purge_hook
from app.crm.pipedrive.roles import role_refreshing_sign_in
from app.crm.pipedrive.routes import install_as_sign_in
from app.crm.pipedrive.routes import router as pipedrive_router
from app.crm.pipedrive.subscriptions import webhooks_purge_hook
from app.db import create_engine, create_sessionmaker
from app.errors import AppError
from app.extension.registration import register_after_connect
from app.extension.routes import pages as invoicing_pages
from app.extension.routes import router as invoicing_router
from app.health import router as health_router
from app.invoices.changelog_routes import router as changelog_router
from app.invoices.pages import router as invoices_pages_router
from app.invoices.routes import router as invoices_router
from app.kit.crypto import keyring
from app.kit.ratelimit import configure_budgets
from app.legal import router as legal_router
from app.logs import configure_logging, log
from app.preferences.pages import router as preferences_pages_router
from app.preferences.routes import router as preferences_router
from app.tenants.dependencies import use_page_sign_in
from app.tenants.permission_routes import router as permissions_router
from app.tenants.routes import router as tenants_router
from app.tenants.service import register_before_purge
from app.web import STATIC_DIR, templates
from app.webhooks.routes import api as webhooks_api
from app.webhooks.routes import router as webhooks_router
from app.wiring import register_jobs
from app.worker.runtime import JobMachinery

JSON_PREFIXES = ("/api/", "/webhooks/")


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES) or request.url.path == "/api"


def content_security_policy(settings: Settings, path: str) -> str:
    ancestors = ["'self'", "https://*.pipedrive.com", settings.public_url]
    if settings.sandbox_url and not settings.is_production:
        # The sandbox's deal page embeds our pages exactly as Pipedrive does.
        ancestors.append(settings.sandbox_url)
    # Swagger UI boots from one inline script; only /docs gets that allowance.
    script = "'self' 'unsafe-inline'" if path == "/docs" else "'self'"
    return (
        f"default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self' https: http:; "
        f"base-uri 'self'; object-src 'none'; frame-ancestors {' '.join(ancestors)}"
    )


def _error_response(request: Request, status: int, body: dict[str, Any]) -> Response:
    if wants_json(request):
        return JSONResponse({"error": body}, status_code=status)
    return templates.TemplateResponse(
        request,
        "common/error.html",
        {"status": status, "error": body},
        status_code=status,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        if exc.status_code >= 500:
            log.warning("app_error", code=exc.code, message=exc.message)
        response = _error_response(request, exc.status_code, exc.to_dict())
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            errors.append({"field": ".".join(loc) or None, "message": err.get("msg", "invalid")})
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        body = {
            "code": "validation_failed",
            "message": message,
            "field": first["field"],
            "errors": errors,
        }
        return _error_response(request, 422, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        response = _error_response(
            request, exc.status_code, {"code": code, "message": str(exc.detail)}
        )
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> Response:
        log.exception("unhandled_error", path=request.url.path)
        return _error_response(
            request,
            500,
            {
                "code": "internal_error",
                "message": "something failed on our side; it has been logged",
                "request_id": getattr(request.state, "request_id", None),
            },
        )


class RequestContext:
    """Every request's id (the caller's X-Request-ID when sane), its security headers and its
    log line. A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``)
    ran each request in a task group with memory streams, about a tenth of a create's CPU
    (issue 17)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if 0 < len(incoming) <= 64 else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        path: str = scope.get("path", "")
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                self.add_headers(headers, request_id, path)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if path not in ("/healthz", "/readyz"):
                log.info(
                    "request",
                    method=scope.get("method"),
                    path=path,
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )

    def add_headers(self, headers: MutableHeaders, request_id: str, path: str) -> None:
        headers["X-Request-ID"] = request_id
        headers["Content-Security-Policy"] = content_security_policy(self.settings, path)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if self.settings.public_url.startswith("https://"):
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"


def install_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(RequestContext, settings=settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app. The lifespan owns the engine and the shared HTTP client."""
    settings = settings or get_settings()
    configure_logging(settings)
    keyring.configure(settings.token_key_list)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for notice in settings.notices:
            log.info("notice", message=notice)
        configure_budgets(settings.redis_url)
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.http = httpx2.AsyncClient(
            timeout=httpx2.Timeout(30.0, connect=10.0),
            limits=httpx2.Limits(max_connections=200, max_keepalive_connections=50),
            headers={"User-Agent": "crm-invoicing/0.1"},
        )
        jobs = JobMachinery(app.state, settings, run_jobs=settings.worker_in_app)
        app.state.jobs = jobs
        await jobs.start()
        try:
            yield
        finally:
            await jobs.stop()
            await app.state.http.aclose()
            await engine.dispose()

    app = FastAPI(
        title="CRM Invoicing",
        version="0.1.0",
        description="Create, send and track Xero and QuickBooks Online invoices from "
        "Pipedrive deals.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="CRM Invoicing API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> Response:
        return templates.TemplateResponse(request, "common/index.html", {"settings": settings})

    install_middleware(app, settings)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(health_router)
    app.include_router(legal_router)
    # The Terms, Privacy and Support links every page's footer shows (settings.legal_links).
    templates.env.globals["legal_settings"] = settings
    app.include_router(tenants_router)
    app.include_router(permissions_router)
    app.include_router(pipedrive_router)
    app.include_router(preferences_router)
    app.include_router(preferences_pages_router)
    app.include_router(connections_api)
    app.include_router(connections_pages)
    app.include_router(invoices_router)
    app.include_router(automation_router)
    app.include_router(automation_pages)
    app.include_router(changelog_router)
    app.include_router(invoices_pages_router)
    # The page step first: the extension router ends in a catch-all for its prefix.
    app.include_router(invoicing_pages)
    app.include_router(invoicing_router)
    # Pages opened in Pipedrive's iframes sign in with Pipedrive's JWT; a top-level window
    # that came without any sign-in signs in through Pipedrive's OAuth (the install flow).
    # The sign-in re-reads the user's Pipedrive role when ours is older than 10 minutes.
    use_page_sign_in(app, role_refreshing_sign_in(app.state), install_as_sign_in)
    # Each new connection is registered with Pipedrive's Invoicing extension.
    add_after_connect(app, register_after_connect)
    app.include_router(webhooks_router)
    app.include_router(webhooks_api)
    register_jobs(settings)
    # A company that leaves loses its provider tokens: revoke them before its rows go.
    register_before_purge("connections", connections_purge_hook(settings))
    register_before_purge("pipedrive_webhooks", webhooks_purge_hook())
    return app
