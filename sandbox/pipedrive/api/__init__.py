"""The Pipedrive API subset we use, mounted on both hosts a client may call: a company's
``api_domain`` (``/pipedrive/c/{domain}``) and ``api.pipedrive.com`` (``/pipedrive/api``)."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.pipedrive.api import fields, notes, v1, v2, webhooks
from sandbox.pipedrive.errors import error_body
from sandbox.pipedrive.state import PREFIX


def _unknown_route() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request, rest: str) -> JSONResponse:
        # Unknown API paths get the API's envelope, not the framework's {"detail": ...}.
        return JSONResponse(error_body(404, f"Unknown method {request.method} /{rest}"), 404)

    return r


def install(app: FastAPI) -> None:
    """Mount v1 (also under the legacy ``/v1``) and v2 on both hosts."""
    hosts = ((f"{PREFIX}/c/{{domain}}", True), (f"{PREFIX}/api", False))
    for host, in_schema in hosts:
        tags: list[str | Enum] = [f"pipedrive api ({'api_domain' if in_schema else 'api host'})"]
        for v1_prefix, shown in ((f"{host}/api/v1", in_schema), (f"{host}/v1", False)):
            app.include_router(v1.router(), prefix=v1_prefix, include_in_schema=shown, tags=tags)
            app.include_router(
                fields.v1_router(), prefix=v1_prefix, include_in_schema=shown, tags=tags
            )
            app.include_router(
                webhooks.router(), prefix=v1_prefix, include_in_schema=shown, tags=tags
            )
            app.include_router(
                notes.v1_router(), prefix=v1_prefix, include_in_schema=shown, tags=tags
            )
        app.include_router(
            v2.router(), prefix=f"{host}/api/v2", include_in_schema=in_schema, tags=tags
        )
        app.include_router(
            fields.v2_router(), prefix=f"{host}/api/v2", include_in_schema=in_schema, tags=tags
        )
        app.include_router(
            notes.v2_router(), prefix=f"{host}/api/v2", include_in_schema=in_schema, tags=tags
        )


def install_fallback(app: FastAPI) -> None:
    """Added last, after the pages, so that only paths nothing else claims reach it."""
    hosts = (f"{PREFIX}/c/{{domain}}", f"{PREFIX}/api")
    for host in hosts:
        for api_prefix in (f"{host}/api", f"{host}/v1"):
            app.include_router(_unknown_route(), prefix=api_prefix)
