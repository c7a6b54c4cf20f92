"""Terms of service, Privacy policy and Support pages (Pipedrive Marketplace requirements).

Served by us unless TERMS_URL, PRIVACY_URL or SUPPORT_URL point elsewhere; the pages' links
(``templates/common/_legal.html``) follow ``Settings.legal_links``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.web import SettingsDep, render

router = APIRouter(include_in_schema=False)


@router.get("/legal/terms")
async def terms(request: Request, settings: SettingsDep) -> Response:
    return render(request, "legal/terms.html", settings=settings)


@router.get("/legal/privacy")
async def privacy(request: Request, settings: SettingsDep) -> Response:
    return render(request, "legal/privacy.html", settings=settings)


@router.get("/support")
async def support(request: Request, settings: SettingsDep) -> Response:
    return render(request, "legal/support.html", settings=settings)
