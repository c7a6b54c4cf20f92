"""The APIs behind api.xero.com: the connections API (`/xero/connections`) and the Accounting
API subset (`/xero/api/api.xro/2.0/...`)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from sandbox.xero.api import (
    connections,
    contacts,
    credit_notes,
    invoices,
    items,
    repeating,
    settings,
)
from sandbox.xero.state import XeroState


def install(app: FastAPI, state: XeroState) -> None:
    connections.install(app, state)
    router = APIRouter(prefix="/xero/api/api.xro/2.0", tags=["xero accounting"])
    for module in (settings, contacts, items, invoices, credit_notes, repeating):
        router.include_router(module.router)
    app.include_router(router)
