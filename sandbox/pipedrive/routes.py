"""Wires the Pipedrive stand-in into the sandbox app.

Paths mirror the real hosts: ``oauth.pipedrive.com`` → ``/pipedrive/oauth``; a company's
``api_domain`` (``https://{domain}.pipedrive.com``) → ``/pipedrive/c/{domain}``;
``api.pipedrive.com`` → ``/pipedrive/api`` (the token alone picks the company there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.pipedrive import api, control, extensions, oauth, pages
from sandbox.pipedrive.api import installments
from sandbox.pipedrive.errors import PipedriveError, error_response, fault_body
from sandbox.pipedrive.limits import RateLimits
from sandbox.pipedrive.seed import seed, seed_bench
from sandbox.pipedrive.state import PREFIX, Data, Pipedrive, PipedriveGrants

if TYPE_CHECKING:
    from sandbox.app import Sandbox


def install(app: FastAPI, sandbox: Sandbox) -> None:
    """Add the Pipedrive stand-in's routes, state, seed, reset hook and fault bodies."""
    pd = Pipedrive(
        sandbox=sandbox,
        grants=PipedriveGrants(sandbox.store, sandbox.clock, "pipedrive"),
        limits=RateLimits(sandbox.clock),
        data=Data(sandbox),
    )
    sandbox.extras["pipedrive"] = pd
    sandbox.reset_hooks.append(pd.reset)
    sandbox.seeders["pipedrive"] = seed
    sandbox.bench_seeders["pipedrive"] = seed_bench
    sandbox.faults.error_bodies[PREFIX] = fault_body

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PipedriveError)
        return error_response(exc, getattr(request.state, "pipedrive_headers", None))

    app.add_exception_handler(PipedriveError, handle)
    app.include_router(oauth.router())
    app.include_router(control.router())
    app.include_router(installments.control_router())
    api.install(app)
    app.include_router(pages.router())
    app.include_router(extensions.router())
    api.install_fallback(app)
