"""Request-scoped plumbing shared by every router: settings, database session, HTTP client,
templates, and each company's request budget."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx2
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import TooManyRequests
from app.kit.ratelimit import CallBudget, Windows, budget_storage

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
# Templates ship with the code: a change needs a restart anyway. Without this, every
# `get_template` (each `{% include %}` in a loop: once per invoice row) stats the file.
templates.env.auto_reload = False


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


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def unmetered(endpoint: Endpoint) -> Endpoint:
    """Leave a route out of its company's request budget: a page's own cheap polling, which
    would otherwise spend the budget of what people do while panels stay open."""
    endpoint.unmetered = True  # type: ignore[attr-defined]
    return endpoint


async def spend_request_budget(request: Request, company_id: str) -> None:
    """Count this request against its company's budget, once per request, where the company
    becomes known (session, iframe JWT, the Invoicing extension's link). Past the budget
    (``API_REQUESTS_PER_MINUTE``, ``API_REQUESTS_PER_SECOND``): 429 with Retry-After; a
    refused request is not counted."""
    if getattr(request.state, "budget_spent", False):
        return
    request.state.budget_spent = True
    if getattr(request.scope.get("endpoint"), "unmetered", False):
        return
    refusal = await company_budget(request.app.state).take(company_id)
    if refusal is None:
        return
    seconds = max(1, math.ceil(refusal.retry_after))
    raise TooManyRequests(
        f"Your company has made {refusal.amount} requests to CRM Invoicing in the last "
        f"{refusal.window}, as many as it may; try again in {seconds} s.",
        headers={"Retry-After": str(seconds)},
        extra={"retry_after": seconds},
    )


def company_budget(state: Any) -> CallBudget:
    """The app's per-company request budget, rebuilt when the settings change (tests)."""
    settings: Settings = state.settings
    windows = Windows(
        per_second=settings.api_requests_per_second,
        per_minute=settings.api_requests_per_minute,
    )
    built: tuple[Windows, CallBudget] | None = getattr(state, "request_budget", None)
    if built is None or built[0] != windows:
        built = (windows, CallBudget("api-requests", windows, budget_storage()))
        state.request_budget = built
    return built[1]
