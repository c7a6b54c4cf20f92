"""The Accounting API subset (`/xero/api/api.xro/2.0/...`)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from sandbox.xero.accounting import contacts, invoices, items, settings


def install(app: FastAPI) -> None:
    router = APIRouter(prefix="/xero/api/api.xro/2.0", tags=["xero accounting"])
    for module in (settings, contacts, items, invoices):
        router.include_router(module.router)
    app.include_router(router)
