"""The invoice changelog over the JSON API: one invoice's events, the company's (admins:
filtered by user, deal and dates, paged) and whether events become deal notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from app.crm.pipedrive.schemas import MAX_PIPEDRIVE_ID, PipedriveId
from app.invoices import flows
from app.invoices.flows import changelog
from app.tenants.dependencies import CurrentAdmin, CurrentUser
from app.tenants.models import AuditEvent
from app.web import DbSession

router = APIRouter(prefix="/api/v1", tags=["changelog"])


class EventOut(BaseModel):
    id: str
    at: datetime
    event: str
    summary: str
    actor_user_id: str | None
    actor_name: str
    deal_id: int | None
    provider: str | None
    provider_invoice_id: str | None
    via: str | None
    noted_in_pipedrive: bool


class EventsPage(BaseModel):
    events: list[EventOut]
    page: int
    has_more: bool
    total: int


class NotesIn(BaseModel):
    notes: bool


def event_out(e: AuditEvent) -> EventOut:
    return EventOut(
        id=e.id,
        at=e.at,
        event=e.action,
        summary=changelog.what(e),
        actor_user_id=e.actor_user_id,
        actor_name=changelog.who(e),
        deal_id=e.deal_id,
        provider=e.provider,
        provider_invoice_id=e.provider_invoice_id,
        via=e.details.get("via"),
        noted_in_pipedrive=bool(e.note_id),
    )


@router.get("/deals/{deal_id}/invoices/{invoice_id}/changelog", response_model=list[EventOut])
async def invoice_changelog(
    deal_id: PipedriveId,
    invoice_id: Annotated[str, Path(max_length=36, description="Our invoice's id")],
    session: DbSession,
    user: CurrentUser,
) -> list[EventOut]:
    """One of the deal's invoices' events, newest first (404 for another deal's or company's)."""
    row, provider_id = await flows.deal_invoice(session, user.company_id, deal_id, invoice_id)
    events = await changelog.invoice_events(session, user.company_id, row.provider, provider_id)
    return [event_out(e) for e in events]


@router.get("/changelog", response_model=EventsPage)
async def company_changelog(
    session: DbSession,
    admin: CurrentAdmin,
    user_id: Annotated[str | None, Query(max_length=36)] = None,
    deal_id: Annotated[int | None, Query(ge=1, le=MAX_PIPEDRIVE_ID)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> EventsPage:
    """The company's invoice events, newest first (admins); dates are the company's days."""
    filters = changelog.Filters(user_id, deal_id, date_from, date_to, page).check()
    zone = await changelog.company_zone(session, admin.company_id)
    found = await changelog.company_events(session, admin.company_id, filters, zone)
    return EventsPage(
        events=[event_out(e) for e in found.events],
        page=found.page,
        has_more=found.has_more,
        total=found.total,
    )


@router.put("/changelog/settings", response_model=NotesIn)
async def changelog_settings(body: NotesIn, session: DbSession, admin: CurrentAdmin) -> NotesIn:
    """Whether each event is also written to its deal in Pipedrive as a note (admins)."""
    await changelog.set_notes(session, admin.company_id, body.notes)
    return body
