"""The stand-ins' own pages: their templates and static files live inside this package, so the
sandbox renders without the product's web plumbing and ships (or is left out) as one piece."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
# Swagger UI, vendored from npm once for the product; read as files (not imported), so the
# sandbox still depends on no code of app/.
VENDOR_DIR = PACKAGE_DIR.parent / "app" / "static" / "vendor"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``name`` (relative to sandbox/templates, e.g. ``xero/invoice.html``)."""
    response: HTMLResponse = templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    return response
