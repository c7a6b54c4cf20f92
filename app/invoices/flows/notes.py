"""Writing a changelog event to its deal in Pipedrive as a note (the ``invoices.post_note``
job), so it shows in the deal's history as Pipedrive's own invoicing does.

Exactly one note per event, however often the job runs: Pipedrive notes have no external id,
so the note carries the event's marker (``changelog ref <event id>``) and the job first looks
for it among the deal's notes added since the event (newest first, so the search costs the same
however many notes the deal has); the note's id is kept on the event (``note_id``) and a job that
finds one does nothing. A retry after a note was posted but before our commit finds the note
by its marker instead of posting a second one. The search is skipped only for a job's first
run under a broker that never delivers a claim twice (``JobContext.first_run``): nothing can
have posted the note before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.pipedrive.errors import PipedriveNotFound
from app.crm.pipedrive.service import client_for, installation_for
from app.invoices.flows.changelog import note_html, note_marker
from app.logs import log
from app.tenants.models import AuditEvent, Company

# Kept on an event whose deal Pipedrive no longer has (or this install may not see).
NO_DEAL = "-"
# A note of this event is never older than the event itself; the margin covers a Pipedrive
# clock behind ours.
CLOCK_MARGIN = timedelta(minutes=10)


def posted_since(event: AuditEvent) -> datetime:
    """The oldest time a note of ``event`` can carry: only notes since then are searched."""
    return event.at - CLOCK_MARGIN


async def post_note(
    state: Any, session: AsyncSession, company_id: str, event_id: str, *, first_run: bool = False
) -> str:
    """Post the event's note unless it exists; answers what happened (for the log and tests).
    Written as the acting user when they still have the app installed, else as an admin.

    ``first_run``: no earlier run of the job can have posted it (``JobContext.first_run``),
    so the deal's notes are not searched: one Pipedrive call per note instead of two."""
    # The event and its company's setting in one statement (one per note, one per create).
    found_row = (
        await session.execute(
            select(AuditEvent, Company.changelog_notes)
            .join(Company, Company.id == AuditEvent.company_id)
            .where(AuditEvent.id == event_id, AuditEvent.company_id == company_id)
        )
    ).first()
    if found_row is None:
        return "gone"
    event, on = found_row
    if event.deal_id is None:
        return "gone"
    if event.note_id:
        return "already posted"
    if not on:
        return "notes off"
    installation = await installation_for(session, company_id, event.actor_user_id)
    client = client_for(
        state.http, state.settings, state.sessionmaker, installation.id, installation
    )
    marker = note_marker(event)
    try:
        found = (
            None
            if first_run
            else await client.find_note(event.deal_id, marker, posted_since(event))
        )
        if found is not None:
            event.note_id = str(found)
            return "found"
        event.note_id = str(await client.add_note(event.deal_id, note_html(event)))
    except PipedriveNotFound:
        log.info("changelog_note_no_deal", event_id=event.id)
        event.note_id = NO_DEAL
        return "no deal"
    return "posted"
