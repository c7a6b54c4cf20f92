"""One ASGI app serving the three stand-ins under /xero, /quickbooks and /pipedrive, plus the
control API under /_sandbox."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from sandbox import control
from sandbox.clock import Clock
from sandbox.config import SandboxSettings
from sandbox.control import BENCH_COMPANIES
from sandbox.faults import FaultMiddleware, Faults
from sandbox.store import Store
from sandbox.templating import STATIC_DIR, VENDOR_DIR
from sandbox.webhooks import WebhookSender

PROVIDERS = ("xero", "quickbooks", "pipedrive")


class ProviderModule(Protocol):
    def install(self, app: FastAPI, sandbox: Sandbox) -> None: ...


@dataclass
class Sandbox:
    """Everything the stand-ins share: settings, state, clock, faults, outgoing webhooks."""

    settings: SandboxSettings
    store: Store
    clock: Clock
    faults: Faults
    webhooks: WebhookSender
    http: httpx2.AsyncClient
    # Per-provider hooks run on reset (in-memory state such as rate-limit windows).
    reset_hooks: list[Callable[[], None]] = field(default_factory=list)
    # Per-provider seeders of the demo: name -> callable(sandbox) returning a summary.
    seeders: dict[str, Callable[[Sandbox], dict[str, Any]]] = field(default_factory=dict)
    # Per-provider seeders of the `bench` set: name -> callable(sandbox, companies) -> summary.
    bench_seeders: dict[str, Callable[[Sandbox, int], dict[str, Any]]] = field(default_factory=dict)
    # Set by a stand-in when it wants to know which provider modules exist.
    extras: dict[str, Any] = field(default_factory=dict)

    def reset(self) -> None:
        self.store.reset()
        self.clock.reset()
        self.faults.clear()
        self.faults.log.clear()
        self.webhooks.reset()
        for hook in self.reset_hooks:
            hook()

    def seed(self, name: str = "demo", companies: int = BENCH_COMPANIES) -> dict[str, Any]:
        """Load a data set (``SEEDS``); ``companies`` is the `bench` set's size."""
        if name == "bench":
            return {p: seed(self, companies) for p, seed in self.bench_seeders.items()}
        summary: dict[str, Any] = {}
        for provider, seeder in self.seeders.items():
            summary[provider] = seeder(self)
        return summary


def create_sandbox_app(
    settings: SandboxSettings,
    *,
    reset: bool = False,
    seed: str | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the stand-ins. ``transport`` lets tests deliver webhooks without sockets."""
    store = Store(settings.db_path)
    http = httpx2.AsyncClient(transport=transport, timeout=10.0)
    sandbox = Sandbox(
        settings=settings,
        store=store,
        clock=Clock(store),
        faults=Faults(),
        webhooks=WebhookSender(http, settings.webhook_retry_delays),
        http=http,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sandbox.webhooks.drain(timeout=1.0)
            await http.aclose()

    app = FastAPI(
        title="CRM Invoicing sandbox",
        description="Local stand-ins for Pipedrive, Xero and QuickBooks Online.",
        lifespan=lifespan,
        # Swagger UI from the product's vendored copy, never from a CDN (see /_sandbox/docs).
        docs_url=None,
        openapi_url="/_sandbox/openapi.json",
        redoc_url=None,
    )
    app.state.sandbox = sandbox

    @app.get("/_sandbox/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/_sandbox/openapi.json",
            title="CRM Invoicing sandbox",
            swagger_js_url="/_sandbox/vendor/swagger-ui-bundle.js",
            swagger_css_url="/_sandbox/vendor/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
        )

    app.mount("/_sandbox/vendor", StaticFiles(directory=str(VENDOR_DIR)), name="sandbox-vendor")
    # The stand-ins' own scripts: the Pipedrive host of custom UI extensions (and the App
    # Extensions SDK, vendored for the host's test pages).
    app.mount("/_sandbox/static", StaticFiles(directory=str(STATIC_DIR)), name="sandbox-static")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        # Browsers ask every origin for one; a 404 there would be noise in page-error checks.
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    control.install(app, sandbox)
    for name in PROVIDERS:
        try:
            module: Any = importlib.import_module(f"sandbox.{name}.routes")
        except ModuleNotFoundError as exc:
            if exc.name != f"sandbox.{name}.routes" and exc.name != f"sandbox.{name}":
                raise
            continue
        module.install(app, sandbox)
    if reset:
        sandbox.reset()
    if seed:
        sandbox.seed(seed)
    app.add_middleware(FaultMiddleware, faults=sandbox.faults)
    return app


def sandbox_of(app: FastAPI) -> Sandbox:
    sandbox: Sandbox = app.state.sandbox
    return sandbox
