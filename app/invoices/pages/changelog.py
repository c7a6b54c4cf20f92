"""The invoice changelog on our pages: per invoice in the deal panel (a fragment the panel
loads when its Changelog is opened) and per company on an admin page (``/changelog``:
filter by user, deal and dates, paged; the switch for deal notes).

The JSON API's twins are in ``app/invoices/changelog_routes.py``; the events themselves in
``app/invoices/flows/changelog.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from app.crm.pipedrive.schemas import MAX_PIPEDRIVE_ID, PipedriveId
from app.errors import AppError, ValidationFailed
from app.invoices import flows
from app.invoices.flows import changelog
from app.invoices.pages.common import PANEL, problem
from app.tenants.dependencies import PageAdmin, PageUser
from app.tenants.models import AuditEvent, CrmUser
from app.web import DbSession, render

router = APIRouter(include_in_schema=False)


class FiltersIn(BaseModel):
    """The admin page's query: empty fields are no filter."""

    model_config = ConfigDict(extra="ignore")

    user_id: str | None = Field(default=None, max_length=36)
    deal_id: int | None = Field(default=None, ge=1, le=MAX_PIPEDRIVE_ID)
    date_from: date | None = None
    date_to: date | None = None
    page: int = Field(default=1, ge=1, le=10_000)

    def filters(self) -> changelog.Filters:
        return changelog.Filters(
            user_id=self.user_id,
            deal_id=self.deal_id,
            date_from=self.date_from,
            date_to=self.date_to,
            page=self.page,
        ).check()


def parse_filters(params: dict[str, str]) -> changelog.Filters:
    """The query's filters; a bad one is a 422 naming its field."""
    try:
        return FiltersIn.model_validate({k: v for k, v in params.items() if v != ""}).filters()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "query"
        raise ValidationFailed(f"{field}: {first['msg']}", field=field) from exc


def shown(events: list[AuditEvent], zone: str | None) -> list[dict[str, Any]]:
    """Events as the templates list them, times in the company's timezone."""
    tz = ZoneInfo(zone or "UTC")
    return [
        {
            "id": e.id,
            "at": e.at.astimezone(tz),
            "who": changelog.who(e),
            "what": changelog.what(e),
            "kind": e.action.removeprefix(changelog.PREFIX),
            "deal_id": e.deal_id,
            "via": e.details.get("via"),
            "noted": bool(e.note_id),
        }
        for e in events
    ]


@router.get(PANEL + "/{deal_id}/invoices/{row_id}/changelog")
async def invoice_changelog(
    deal_id: PipedriveId, row_id: str, request: Request, session: DbSession, user: PageUser
) -> Response:
    """One of the deal's invoices' events, newest first (404 for another deal's or company's)."""
    try:
        row, invoice_id = await flows.deal_invoice(session, user.company_id, deal_id, row_id)
    except AppError as exc:
        return problem(request, exc)
    events = await changelog.invoice_events(session, user.company_id, row.provider, invoice_id)
    zone = await changelog.company_zone(session, user.company_id)
    return render(request, "invoices/_changelog.html", events=shown(events, zone), row_id=row_id)


@router.get("/changelog")
async def changelog_page(request: Request, session: DbSession, admin: PageAdmin) -> Response:
    """Every invoice event of the company (admins), filtered and paged."""
    params = dict(request.query_params)
    zone = await changelog.company_zone(session, admin.company_id)
    users = (
        (await session.execute(select(CrmUser).where(CrmUser.company_id == admin.company_id)))
        .scalars()
        .all()
    )
    context: dict[str, Any] = {
        "admin": admin,
        "users": sorted(users, key=lambda u: u.name or u.email),
        "params": params,
        "zone": zone or "UTC",
        "notes_on": await changelog.notes_on(session, admin.company_id),
        "session_token": getattr(request.state, "session_token", None),
    }
    try:
        page = await changelog.company_events(
            session, admin.company_id, parse_filters(params), zone
        )
    except ValidationFailed as exc:
        return render(
            request, "invoices/changelog.html", 422, error=exc.message, events=[], **context
        )
    return render(
        request,
        "invoices/changelog.html",
        events=shown(page.events, zone),
        page=page,
        more={**params, "page": str(page.page + 1)},
        back={**params, "page": str(page.page - 1)},
        **context,
    )


@router.post("/changelog/notes")
async def changelog_notes(request: Request, session: DbSession, admin: PageAdmin) -> Response:
    """Turn writing each event to its deal as a Pipedrive note on or off (admins)."""
    form = await request.form()
    on = form.get("notes") == "on"
    await changelog.set_notes(session, admin.company_id, on)
    return render(request, "invoices/_changelog_notes.html", notes_on=on, saved=True)
