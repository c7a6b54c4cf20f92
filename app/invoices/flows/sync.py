"""Status sync: our invoice rows follow the provider (webhooks, catch-up, refresh).

* ``sync_invoices(tokens, session, company_id, provider, ids)``: re-read those provider
  invoices (the adapter batches: Xero 100 ids per call, QuickBooks one query) and apply each to
  our row with ``apply_invoice``; an invoice the provider no longer has is kept as Deleted.
* ``catch_up(tokens, session, connection)``: everything changed since the connection's last
  sync (Xero If-Modified-Since, paged; QuickBooks CDC, one call), for the webhooks that never
  arrive; records the connection's sync health.
* ``refresh_deal(ctx, session, deal_id)``: a deal's invoices, now (the panel's refresh).

Our rows are touched: invoices created here and those mirrored with their contact's invoices
(``flows.mirror``; a catch-up also mirrors new invoices of such contacts); others are reported
and left alone. Nothing commits:
the job or request boundary does, so a failure leaves nothing half-applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import ProviderConnection
from app.connections.tokens import TokenService
from app.db import utcnow
from app.invoices.context import InvoiceContext, organisation_of
from app.invoices.flows.apply import DELETED, apply_deleted, apply_invoice
from app.invoices.flows.changelog import record_event
from app.invoices.flows.mirror import adopt_new
from app.invoices.models import DealInvoice, InvoiceStatus
from app.invoices.repository import InvoiceRepository
from app.providers.base import ChangeSet, Invoice

NOT_OURS = "ignored: not an invoice created here"
OLDER = "ignored: older than what we show"
# Re-read a little of the last window again: a change committed at the provider while the
# previous catch-up ran is not missed (applying it twice changes nothing).
OVERLAP = timedelta(minutes=1)
# Where our own rows are re-read by id (a gap older than the provider's change window),
# settled invoices are left alone: they no longer change.
SETTLED = ("PAID", "VOIDED", DELETED)


@dataclass
class SyncReport:
    """What one sync did: invoices read, rows updated, and an outcome per provider id."""

    provider: str
    read: int = 0
    updated: int = 0
    deleted: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)

    def merge(self, other: SyncReport) -> None:
        self.read += other.read
        self.updated += other.updated
        self.deleted += other.deleted
        self.outcomes.update(other.outcomes)


async def _ours(
    session: AsyncSession, company_id: str, provider: str, ids: Iterable[str]
) -> dict[str, DealInvoice]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(
        InvoiceRepository(session, company_id)
        .select()
        .where(
            DealInvoice.provider == provider,
            DealInvoice.provider_invoice_id.in_(wanted),
            DealInvoice.status == InvoiceStatus.created,
        )
    )
    return {row.provider_invoice_id: row for row in rows if row.provider_invoice_id}


def _shown(row: DealInvoice) -> tuple[object, ...]:
    """What a person sees of the row: a re-read that changes none of it is "unchanged"."""
    return (
        row.provider_status,
        row.number,
        row.total_minor,
        row.amount_due_minor,
        row.amount_paid_minor,
        row.due_date,
    )


def _apply_all(
    report: SyncReport,
    rows: dict[str, DealInvoice],
    invoices: Sequence[Invoice],
    deleted_ids: Iterable[str] = (),
) -> list[tuple[DealInvoice, str | None]]:
    """Apply each; answers the rows whose status changed, with the status they had."""
    now = utcnow()
    changed: list[tuple[DealInvoice, str | None]] = []
    for invoice in invoices:
        report.read += 1
        row = rows.get(invoice.id)
        if row is None:
            report.outcomes[invoice.id] = NOT_OURS
            continue
        before = _shown(row)
        status_before = row.provider_status
        if not apply_invoice(row, invoice):
            report.outcomes[invoice.id] = OLDER
        elif _shown(row) != before:
            report.updated += 1
            report.outcomes[invoice.id] = f"updated: {invoice.status}"
            if row.provider_status != status_before:
                changed.append((row, status_before))
        else:
            report.outcomes[invoice.id] = f"unchanged: {invoice.status}"
    for invoice_id in deleted_ids:
        row = rows.get(invoice_id)
        if row is None:
            report.outcomes[invoice_id] = NOT_OURS
        else:
            status_before = row.provider_status
            if apply_deleted(row, now):
                report.deleted += 1
                report.outcomes[invoice_id] = "updated: DELETED"
                changed.append((row, status_before))
            else:
                report.outcomes[invoice_id] = "unchanged: DELETED"
    return changed


async def _log_changes(
    session: AsyncSession, company_id: str, changed: list[tuple[DealInvoice, str | None]]
) -> None:
    """A changelog event per status that arrived from the provider (no user acted)."""
    for row, before in changed:
        await record_event(
            session,
            company_id,
            "invoice.status_synced",
            actor=None,
            deal_id=row.deal_id,
            provider=row.provider,
            provider_invoice_id=row.provider_invoice_id,
            details={"number": row.number, "from": before, "to": row.provider_status},
        )


async def sync_invoices(
    tokens: TokenService,
    session: AsyncSession,
    company_id: str,
    provider: str,
    ids: Sequence[str],
) -> SyncReport:
    """Re-read ``ids`` at the provider and apply them to our rows (see the module doc)."""
    report = SyncReport(provider)
    rows = await _ours(session, company_id, provider, ids)
    for invoice_id in set(ids) - set(rows):
        report.outcomes[invoice_id] = NOT_OURS
    if not rows:
        return report
    adapter = tokens.facade(provider).adapter
    wanted = sorted(rows)
    invoices = await tokens.call(company_id, provider, lambda c: adapter.get_invoices(c, wanted))
    returned = {invoice.id for invoice in invoices}
    # An id the provider no longer returns was deleted there (QuickBooks drops them).
    changed = _apply_all(report, rows, invoices, [i for i in wanted if i not in returned])
    await _log_changes(session, company_id, changed)
    await session.flush()
    return report


async def _changes(tokens: TokenService, connection: ProviderConnection) -> tuple[ChangeSet, bool]:
    """The provider's changes since the last sync, and whether the gap was older than the
    provider can answer for (then our own open invoices must be re-read too)."""
    adapter = tokens.facade(connection.provider).adapter
    now = utcnow()
    since = (connection.synced_until or connection.connected_at) - OVERLAP
    window = adapter.changes_look_back
    too_old = window is not None and now - since > window
    if too_old and window is not None:
        since = now - window
    changes = await tokens.call(
        connection.company_id, connection.provider, lambda c: adapter.changed_invoices(c, since)
    )
    return changes, too_old


async def _open_ids(session: AsyncSession, company_id: str, provider: str) -> list[str]:
    rows = await session.scalars(
        InvoiceRepository(session, company_id)
        .select()
        .with_only_columns(DealInvoice.provider_invoice_id)
        .where(
            DealInvoice.provider == provider,
            DealInvoice.status == InvoiceStatus.created,
            DealInvoice.provider_invoice_id.is_not(None),
            DealInvoice.provider_status.not_in(SETTLED),
        )
    )
    return [r for r in rows if r]


async def catch_up(
    tokens: TokenService, session: AsyncSession, connection: ProviderConnection
) -> SyncReport:
    """Apply what changed at the provider since ``connection``'s last sync, and record the
    connection's sync health (``synced_until``, ``last_sync_at``, error cleared)."""
    company_id, provider = connection.company_id, connection.provider
    changes, too_old = await _changes(tokens, connection)
    report = SyncReport(provider)
    ids = [i.id for i in changes.invoices] + list(changes.deleted_ids)
    rows = await _ours(session, company_id, provider, ids)
    changed = _apply_all(report, rows, changes.invoices, changes.deleted_ids)
    await _log_changes(session, company_id, changed)
    # New invoices of contacts whose invoices we mirror ("View all invoices") join the mirror.
    adapter = tokens.facade(provider).adapter
    organisation = organisation_of(connection)
    await adopt_new(
        session,
        company_id,
        provider,
        [i for i in changes.invoices if i.id not in rows],
        lambda invoice_id: adapter.invoice_url(organisation, invoice_id),
    )
    if too_old:
        # Bounded: our own open invoices only, batched by the adapter.
        report.merge(
            await sync_invoices(
                tokens,
                session,
                company_id,
                provider,
                await _open_ids(session, company_id, provider),
            )
        )
    connection.synced_until = changes.checked_at
    connection.last_sync_at = utcnow()
    connection.last_sync_error = ""
    connection.last_sync_error_at = None
    await session.flush()
    return report


async def refresh_deal(ctx: InvoiceContext, session: AsyncSession, deal_id: int) -> SyncReport:
    """Re-read the deal's invoices at their providers now (one batched read per provider)."""
    rows = await InvoiceRepository(session, ctx.company_id).of_deal(deal_id)
    by_provider: dict[str, list[str]] = {}
    for row in rows:
        if row.status == InvoiceStatus.created and row.provider_invoice_id:
            by_provider.setdefault(row.provider, []).append(row.provider_invoice_id)
    report = SyncReport("all")
    for provider, ids in sorted(by_provider.items()):
        report.merge(await sync_invoices(ctx.tokens, session, ctx.company_id, provider, ids))
    return report
