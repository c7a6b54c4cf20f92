"""The extension's invoice endpoints, on the same flows as our own pages.

``postInvoice`` goes through ``app.invoices.flows.create_invoice``: the same checks, the same
exactly-once row, the same provider idempotency and the same audit entry as
``POST /api/v1/deals/{deal_id}/invoices``. Status actions, email, PDF and the share link go
through ``app.invoices.actions``, shared with the deal panel's buttons.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date

from app.connections.models import ProviderConnection
from app.errors import ValidationFailed
from app.extension import mapping, view
from app.extension import schemas as pd
from app.extension.service import Extension
from app.invoices import flows
from app.invoices.context import organisation_of
from app.invoices.flows import actions as invoice_actions
from app.invoices.flows import contact_invoices, listing, mirror
from app.invoices.models import DealInvoice
from app.providers.base import Features, Invoice, ProviderNotFound
from app.providers.view import InvoiceView

SEARCH_PAGE_SIZE = 50
STATUS_ACTIONS = ("SUBMITTED", "AUTHORISED", "VOIDED", "DELETED")


def make_view(
    ext: Extension, connection: ProviderConnection, inv: Invoice, today: date
) -> InvoiceView:
    view = invoice_actions.view_of(ext.adapter, connection, inv, today)
    return invoice_actions.permitted(view, ext.permissions)


def shaped(ext: Extension, connection: ProviderConnection, inv: Invoice, today: date) -> pd.Invoice:
    """The contract's Invoice for a provider invoice, with its deep link."""
    url = ext.adapter.invoice_url(organisation_of(connection), inv.id)
    return view.invoice(make_view(ext, connection, inv, today), inv, url=url)


async def resolve_items(
    ext: Extension, features: Features, lines: Sequence[pd.CreateInvoiceLineItem]
) -> tuple[dict[str, str], dict[str, str]]:
    """Codes for lines that name an item by id only, where the provider's lines name items by
    code (Xero), and ids for lines that name it by code only, where they name items by id
    (QuickBooks); read concurrently."""
    adapter = ext.adapter
    codes: dict[str, str] = {}
    ids: dict[str, str] = {}

    async def by_id(item_id: str) -> None:
        try:
            item = await ext.call(lambda c: adapter.get_item(c, item_id))
        except ProviderNotFound as exc:
            raise ValidationFailed(
                f"There is no product {item_id}.", field="lineItems.productId"
            ) from exc
        if item.code:
            codes[item_id] = item.code

    async def by_code(code: str) -> None:
        found = await ext.call(lambda c: adapter.search_items(c, code=code))
        exact = [i for i in found if (i.code or "").casefold() == code.casefold()]
        if len(exact) != 1:
            raise ValidationFailed(
                f"No single product has the code {code}.", field="lineItems.productCode"
            )
        ids[code] = exact[0].id

    if features.line_item_key == "code":
        jobs = [
            by_id(p) for p in {ln.productId for ln in lines if ln.productId and not ln.productCode}
        ]
    else:
        jobs = [
            by_code(p)
            for p in {ln.productCode for ln in lines if ln.productCode and not ln.productId}
        ]
    await asyncio.gather(*jobs)
    return codes, ids


async def create_invoice(
    ext: Extension, data: pd.InvoiceCreateData, key: str, deal_id: int | None = None
) -> pd.Invoice:
    """postInvoice: through the invoices create flow, exactly once per derived key; with
    ``deal_id`` the invoice is the deal's (read from Pipedrive, 404 when not the company's) and
    joins its list."""
    connection = await ext.connection()
    meta = await ext.meta()
    codes, ids = await resolve_items(ext, meta.features, data.lineItems)
    body = mapping.invoice_in(
        data,
        provider=ext.provider,
        features=meta.features,
        base_currency=meta.organisation.base_currency,
        item_codes=codes,
        item_ids=ids,
    )
    # The contract names no deal: without one the invoice is recorded without a deal, and the
    # provider invoice carries no deal URL.
    out, _ = await flows.create_invoice(ext.ctx, ext.session, deal_id, body, key)
    inv = mapping.invoice_dto(out)
    return shaped(ext, connection, inv, flows.company_today(meta))


async def search_invoices(
    ext: Extension,
    ids: str | None,
    customer_id: str | None,
    start: str | None,
    end: str | None,
    page: int,
    refresh: bool = False,
) -> list[pd.Invoice]:
    """getSearchInvoices: by ids, or by customer and date range (one page), from our synced
    rows (``flows.mirror``); ``refresh`` reads through to the provider first."""
    connection = await ext.connection()
    today = await ext.today()
    if ids:
        wanted = [i.strip() for i in ids.split(",") if i.strip()][:100]
        rows = await mirror.rows_by_ids(ext.ctx, ext.session, ext.provider, wanted, refresh=refresh)
    elif customer_id:
        date_from = mapping.parse_date(start, "startDate")
        date_to = mapping.parse_date(end, "endDate")
        await mirror.ensure_mirrored(
            ext.ctx, ext.session, ext.provider, customer_id, refresh=refresh
        )
        rows = await mirror.contact_rows(
            ext.session,
            ext.ctx.company_id,
            ext.provider,
            customer_id,
            date_from,
            date_to,
            page=page,
            page_size=SEARCH_PAGE_SIZE,
        )
    else:
        raise ValidationFailed("Search by ids, or by customerId and startDate.", field="ids")
    return [row_shaped(ext, connection, row, today) for row in rows]


def row_shaped(
    ext: Extension, connection: ProviderConnection, row: DealInvoice, today: date
) -> pd.Invoice:
    """The contract's Invoice for one of our rows."""
    inv = listing.row_invoice(row)
    url = row.url or ext.adapter.invoice_url(organisation_of(connection), inv.id)
    return view.invoice(make_view(ext, connection, inv, today), inv, url=url)


async def change_status(ext: Extension, invoice_id: str, raw_action: str) -> pd.Invoice:
    """postInvoiceStatus: the action must be one the invoice offers now, else 409."""
    action = mapping.action_id(raw_action)
    if action not in STATUS_ACTIONS:
        raise ValidationFailed(f"{raw_action} is not a status action.", field="id")
    return await act(ext, invoice_id, action)


async def email(ext: Extension, invoice_id: str) -> pd.Invoice:
    """postInvoiceEmail."""
    return await act(ext, invoice_id, "EMAIL")


async def act(ext: Extension, invoice_id: str, action: str) -> pd.Invoice:
    # The same service as the deal panel's buttons (app.invoices.actions).
    connection = await ext.connection()
    done = await invoice_actions.act(
        ext.ctx,
        ext.session,
        ext.provider,
        invoice_id,
        action,
        today=await ext.today(),
        via="pipedrive_invoicing_extension",
        connection=connection,
    )
    url = ext.adapter.invoice_url(organisation_of(connection), done.invoice.id)
    return view.invoice(done.view, done.invoice, url=url)


async def share_url(ext: Extension, invoice_id: str) -> pd.LinkAuthURL:
    """getInvoiceShareUrl."""
    await ext.connection()
    return pd.LinkAuthURL(url=await invoice_actions.share_url(ext.ctx, ext.provider, invoice_id))


async def pdf(ext: Extension, invoice_id: str) -> tuple[bytes, str]:
    """The PDF and its file name (the invoice number, else its id), made filename-safe."""
    await ext.connection()
    return await invoice_actions.invoice_pdf(ext.ctx, ext.provider, invoice_id)


async def summary(
    ext: Extension, contact_id: str, a: str | None, b: str | None, refresh: bool = False
) -> list[pd.SummaryRow]:
    """Totals per currency of the contact's invoices issued in the range, from our synced
    rows with the deal panel's one computation (``contact_invoices.totals_of``); ``refresh``
    reads the contact's invoices at the provider first. ``from`` and ``to`` are described
    swapped on Pipedrive's page, so the earlier date is the start."""
    await ext.connection()
    today = await ext.today()
    dates = sorted(
        d for d in (mapping.parse_date(a, "from"), mapping.parse_date(b, "to")) if d is not None
    )
    date_from = dates[0] if dates else None
    date_to = dates[-1] if len(dates) == 2 else None
    await mirror.ensure_mirrored(ext.ctx, ext.session, ext.provider, contact_id, refresh=refresh)
    rows = await mirror.contact_rows(
        ext.session, ext.ctx.company_id, ext.provider, contact_id, date_from, date_to
    )
    return view.summary(contact_invoices.totals_of(rows, today))
