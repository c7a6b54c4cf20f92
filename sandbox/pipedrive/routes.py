"""Wires the Pipedrive stand-in into the sandbox app.

Paths mirror the real hosts: ``oauth.pipedrive.com`` → ``/pipedrive/oauth``; a company's
``api_domain`` (``https://{domain}.pipedrive.com``) → ``/pipedrive/c/{domain}``;
``api.pipedrive.com`` → ``/pipedrive/api`` (the token alone picks the company there).
"""

from __future__ import annotations

import json
from enum import Enum
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.faults import FaultSpec
from sandbox.pipedrive import api_v1, api_v2, control, fields, oauth, pages
from sandbox.pipedrive.common import (
    INVALID_TOKEN,
    PREFIX,
    Data,
    Pipedrive,
    PipedriveError,
    error_body,
    error_response,
)
from sandbox.pipedrive.ratelimit import OAUTH_BURST, RateLimits
from sandbox.pipedrive.seed import seed

if TYPE_CHECKING:
    from sandbox.app import Sandbox

FAULT_MESSAGES = {
    400: "Bad request",
    401: INVALID_TOKEN,
    403: "Forbidden",
    404: "Not found",
    429: "Request over limit",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def fault_body(status: int, spec: FaultSpec) -> tuple[bytes, dict[str, str]]:
    """Injected faults answer in Pipedrive's envelope (429s with x-ratelimit-* headers)."""
    body = json.dumps(error_body(status, FAULT_MESSAGES.get(status, "Request failed"))).encode()
    headers: dict[str, str] = {}
    if status == 429:
        headers = {
            "x-ratelimit-limit": str(OAUTH_BURST["lite"]),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(spec.retry_after),
        }
    return body, headers


def _unknown_route() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request, rest: str) -> JSONResponse:
        # Unknown API paths get the API's envelope, not the framework's {"detail": ...}.
        return JSONResponse(error_body(404, f"Unknown method {request.method} /{rest}"), 404)

    return r


def install(app: FastAPI, sandbox: Sandbox) -> None:
    """Add the Pipedrive stand-in's routes, state, seed, reset hook and fault bodies."""
    pd = Pipedrive(
        sandbox=sandbox,
        grants=oauth.PipedriveGrants(sandbox.store, sandbox.clock, "pipedrive"),
        limits=RateLimits(sandbox.clock),
        data=Data(sandbox),
    )
    sandbox.extras["pipedrive"] = pd
    sandbox.reset_hooks.append(pd.reset)
    sandbox.seeders["pipedrive"] = seed
    sandbox.faults.error_bodies[PREFIX] = fault_body

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PipedriveError)
        return error_response(exc, getattr(request.state, "pipedrive_headers", None))

    app.add_exception_handler(PipedriveError, handle)
    app.include_router(oauth.router())
    app.include_router(control.router())
    hosts = ((f"{PREFIX}/c/{{domain}}", True), (f"{PREFIX}/api", False))
    for host, in_schema in hosts:
        tags: list[str | Enum] = [f"pipedrive api ({'api_domain' if in_schema else 'api host'})"]
        for v1_prefix, shown in ((f"{host}/api/v1", in_schema), (f"{host}/v1", False)):
            app.include_router(
                api_v1.router(), prefix=v1_prefix, include_in_schema=shown, tags=tags
            )
            app.include_router(
                fields.v1_router(), prefix=v1_prefix, include_in_schema=shown, tags=tags
            )
        app.include_router(
            api_v2.router(), prefix=f"{host}/api/v2", include_in_schema=in_schema, tags=tags
        )
        app.include_router(
            fields.v2_router(), prefix=f"{host}/api/v2", include_in_schema=in_schema, tags=tags
        )
    app.include_router(pages.router())
    for host, _ in hosts:
        for api_prefix in (f"{host}/api", f"{host}/v1"):
            app.include_router(_unknown_route(), prefix=api_prefix)
