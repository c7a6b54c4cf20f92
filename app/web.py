"""Request-scoped plumbing shared by every router: settings, database session, HTTP client,
templates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx2
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work; it commits before the response is sent.

    A failed commit therefore turns into an error response instead of a false success.
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def get_http_client(request: Request) -> httpx2.AsyncClient:
    client: httpx2.AsyncClient = request.app.state.http
    return client


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": the exit code (the commit) runs when the endpoint returns, before the
# response is sent, so a failed commit becomes an error response instead of a false success.
DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
HttpClient = Annotated[httpx2.AsyncClient, Depends(get_http_client)]


def set_cookie_on_render(request: Request, **cookie: Any) -> None:
    """Have the page ``render`` answers for this request set a cookie (``Response.set_cookie``
    arguments). A dependency cannot set headers on a response the endpoint builds itself."""
    pending: list[dict[str, Any]] = getattr(request.state, "render_cookies", None) or []
    pending.append(cookie)
    request.state.render_cookies = pending


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Any:
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    for cookie in getattr(request.state, "render_cookies", None) or []:
        response.set_cookie(**cookie)
    return response
