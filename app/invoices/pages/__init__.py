"""The deal panel and its Create invoice dialog (Jinja2 + htmx), split by concern: the panel
and acting on a listed invoice (``panel``; crediting it: ``credit``), the dialog
(``dialog``), its lines (``lines``) and its customer (``customer``); ``forms`` turns the
dialog's fields into the API's shapes."""

from __future__ import annotations

from fastapi import APIRouter

from app.invoices.pages import changelog, contact, credit, customer, dialog, lines, modal, panel

router = APIRouter(include_in_schema=False)
for part in (panel, contact, credit, dialog, modal, lines, customer, changelog):
    router.include_router(part.router)

__all__ = ["router"]
