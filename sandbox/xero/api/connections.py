"""Xero's connections API (`GET/DELETE https://api.xero.com/connections`, xero.md section 2):
the organisations a user has connected to this app, one row per tenant; `authEventId` is
shared by the tenants of one consent; DELETE takes the connection id, not the tenant id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sandbox.xero.state import XeroState


def install(app: FastAPI, state: XeroState) -> None:
    api = APIRouter(prefix="/xero/api", tags=["xero identity"])

    def connections_of(request: Request) -> list[dict[str, Any]]:
        context = request.scope.get("state", {}).get("xero", {})
        return [
            c
            for c in state.store.all("xero:connection", scope=context.get("user_id") or "")
            if c["_client_id"] == context.get("client_id")
        ]

    @api.get("/connections", response_model=None)
    @api.get("/Connections", response_model=None, include_in_schema=False)
    async def list_connections(request: Request, authEventId: str | None = None) -> Response:
        conns = connections_of(request)
        if authEventId:
            conns = [c for c in conns if c["authEventId"] == authEventId]
        body = [{k: v for k, v in c.items() if not k.startswith("_")} for c in conns]
        return JSONResponse(body)

    @api.delete("/connections/{connection_id}", response_model=None)
    @api.delete("/Connections/{connection_id}", response_model=None, include_in_schema=False)
    async def delete_connection(request: Request, connection_id: str) -> Response:
        for conn in connections_of(request):
            if conn["id"] == connection_id:
                state.store.delete("xero:connection", conn["id"])
                return Response(status_code=204)
        return Response(status_code=404)

    app.include_router(api)
