"""The invoice changelog: every invoice event, kept with who, when and what, and written to the
deal in Pipedrive as a note.

Events are ``AuditEvent`` lines whose action starts with ``invoice.``: created, submitted,
approved, voided, deleted, emailed, linked, unlinked (by a user, through any surface) and
status_synced (a status that arrived from the provider: webhook, catch-up or refresh; no
user). ``record_event`` adds the line and, when the company keeps deal notes on
(``Company.changelog_notes``) and the event names a deal, records the ``invoices.post_note``
job in the same transaction (``app/invoices/tasks.py`` runs it; ``post_note`` here).

Reads: ``invoice_events`` (one invoice, the panel) and ``company_events`` (the admin page:
filters by user, deal and dates, paged), both scoped to one company.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ValidationFailed
from app.tenants.models import AuditEvent, Company, CrmUser
from app.worker.outbox import enqueue

POST_NOTE = "invoices.post_note"
PREFIX = "invoice."

# Event → what the changelog says happened (after the invoice's number).
EVENTS: dict[str, str] = {
    "invoice.created": "created",
    "invoice.submitted": "submitted for approval",
    "invoice.approved": "approved",
    "invoice.voided": "voided",
    "invoice.deleted": "deleted",
    "invoice.emailed": "sent to the customer by email",
    "invoice.credited": "credited by a credit note",
    "invoice.linked": "linked to the deal",
    "invoice.unlinked": "unlinked from the deal",
    "invoice.status_synced": "changed status at the provider",
}
# A user's action at the provider → its event.
ACTION_EVENTS = {
    "SUBMITTED": "invoice.submitted",
    "AUTHORISED": "invoice.approved",
    "VOIDED": "invoice.voided",
    "DELETED": "invoice.deleted",
    "EMAIL": "invoice.emailed",
}
PROVIDER_LABELS = {"xero": "Xero", "quickbooks": "QuickBooks"}
PAGE_SIZE = 50


async def record_event(
    session: AsyncSession,
    company_id: str,
    kind: str,
    *,
    actor: CrmUser | None,
    deal_id: int | None,
    provider: str,
    provider_invoice_id: str | None,
    details: dict[str, Any],
) -> AuditEvent:
    """Add one changelog event (flushed, not committed) and, when the company keeps deal notes
    and the event names a deal, the job that writes it to the deal as a note."""
    assert kind in EVENTS, kind
    event = AuditEvent(
        company_id=company_id,
        actor_user_id=actor.id if actor is not None else None,
        actor_name=(actor.name or actor.email or None) if actor is not None else None,
        action=kind,
        deal_id=deal_id,
        provider=provider,
        provider_invoice_id=provider_invoice_id,
        details={
            **details,
            "deal_id": deal_id,
            "provider": provider,
            "provider_invoice_id": provider_invoice_id,
        },
    )
    session.add(event)
    await session.flush()
    if deal_id is not None and await notes_on(session, company_id):
        await enqueue(
            session, POST_NOTE, company_id=company_id, key=f"note:{event.id}", event_id=event.id
        )
    return event


async def notes_on(session: AsyncSession, company_id: str) -> bool:
    on = await session.scalar(select(Company.changelog_notes).where(Company.id == company_id))
    return bool(on)


async def company_zone(session: AsyncSession, company_id: str) -> str | None:
    """The company's timezone: its changelog's days and times are in it."""
    zone: str | None = await session.scalar(
        select(Company.timezone).where(Company.id == company_id)
    )
    return zone


async def set_notes(session: AsyncSession, company_id: str, on: bool) -> None:
    company = await session.get(Company, company_id)
    if company is not None:
        company.changelog_notes = on
        await session.flush()


# --- Reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The admin page's filters; dates are the company's calendar days, both included."""

    user_id: str | None = None
    deal_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    def check(self) -> Filters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationFailed("The start date is after the end date.", field="date_from")
        return self


@dataclass(frozen=True)
class Page:
    events: list[AuditEvent]
    page: int
    has_more: bool
    total: int


def invoice_events_query(company_id: str) -> Select[Any]:
    return select(AuditEvent).where(
        AuditEvent.company_id == company_id, AuditEvent.action.startswith(PREFIX)
    )


async def invoice_events(
    session: AsyncSession, company_id: str, provider: str, provider_invoice_id: str
) -> list[AuditEvent]:
    """One invoice's events, newest first."""
    query = invoice_events_query(company_id).where(
        AuditEvent.provider == provider, AuditEvent.provider_invoice_id == provider_invoice_id
    )
    rows = await session.execute(query.order_by(AuditEvent.at.desc(), AuditEvent.id).limit(200))
    return list(rows.scalars())


def day_start(day: date, zone: str | None) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone or "UTC"))


async def company_events(
    session: AsyncSession, company_id: str, filters: Filters, zone: str | None
) -> Page:
    """The company's invoice events, newest first, filtered and paged (``PAGE_SIZE``)."""
    query = invoice_events_query(company_id)
    if filters.user_id:
        query = query.where(AuditEvent.actor_user_id == filters.user_id)
    if filters.deal_id is not None:
        query = query.where(AuditEvent.deal_id == filters.deal_id)
    if filters.date_from:
        query = query.where(AuditEvent.at >= day_start(filters.date_from, zone))
    if filters.date_to:
        query = query.where(AuditEvent.at < day_start(filters.date_to + timedelta(days=1), zone))
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    offset = (filters.page - 1) * PAGE_SIZE
    rows = await session.execute(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id).offset(offset).limit(PAGE_SIZE + 1)
    )
    events = list(rows.scalars())
    return Page(events[:PAGE_SIZE], filters.page, len(events) > PAGE_SIZE, total)


def who(event: AuditEvent) -> str:
    """The actor's name then, or the provider for a status that arrived from it."""
    if event.actor_name:
        return event.actor_name
    if event.actor_user_id:
        return "A former user"
    return PROVIDER_LABELS.get(event.provider or "", "The provider")


def what(event: AuditEvent) -> str:
    """One line: the invoice, what happened and, for a synced status, from what to what."""
    number = event.details.get("number") or event.provider_invoice_id or "?"
    line = f"Invoice {number} {EVENTS.get(event.action, event.action)}"
    if event.action == "invoice.status_synced":
        line += f": {event.details.get('from') or '?'} → {event.details.get('to') or '?'}"
    via = PROVIDER_LABELS.get(event.provider or "")
    return f"{line} in {via}" if via and event.action != "invoice.status_synced" else line


def note_marker(event: AuditEvent) -> str:
    """The text that identifies the event's note among the deal's notes (no external id)."""
    return f"changelog ref {event.id}"


def note_html(event: AuditEvent) -> str:
    return (
        f"<p><b>{html.escape(what(event))}</b> by {html.escape(who(event))}</p>"
        f"<p><small>CRM Invoicing · {html.escape(note_marker(event))}</small></p>"
    )
