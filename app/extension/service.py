"""The extension's use cases: one method per endpoint, on the same flows as our own pages.

A call arrives with only ``:linkId``: ``open_link`` finds the company, provider and user it
stands for and builds the invoice flows' ``InvoiceContext`` for them, so every provider call
goes through the token service (locked refresh; 409 with ``reconnect_url`` when the connection
needs an admin) and ``postInvoice`` goes through ``app.invoices.flows.create_invoice``: the same
checks, the same exactly-once row, the same provider idempotency and the same audit entry as
``POST /api/v1/deals/{deal_id}/invoices``.

Pieces the invoice flows do not (yet) offer and that live here, adapter-level only:
* status actions and email (``change_status``, ``email``): the adapter's operation, then the
  recorded row (if the invoice is one of ours) is brought up to date and audited;
* item-code / item-id resolution for lines that name a product only by id or only by code.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.exceptions import NeedsReauth, reconnect_url
from app.connections.models import ProviderConnection
from app.errors import Conflict, NotFound, ValidationFailed
from app.extension import mapping
from app.extension import schemas as pd
from app.extension.models import InvoicingLink
from app.invoices import actions as invoice_actions
from app.invoices import flows
from app.invoices.metadata import InvoiceContext, live_connection, organisation_of
from app.invoices.service import ProviderMeta
from app.providers.base import Invoice, ProviderError, ProviderNotFound
from app.providers.view import InvoiceView
from app.tenants.models import CrmUser

SEARCH_PAGE_SIZE = 50
SUMMARY_MAX_PAGES = 20
STATUS_ACTIONS = ("SUBMITTED", "AUTHORISED", "VOIDED", "DELETED")


def _valid_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


async def find_link(session: AsyncSession, link_id: str) -> InvoicingLink:
    """The link, or 404 (a malformed id is simply unknown)."""
    row = None
    if _valid_uuid(link_id):
        row = (
            await session.execute(select(InvoicingLink).where(InvoicingLink.link_id == link_id))
        ).scalar_one_or_none()
    if row is None:
        raise NotFound("There is no invoicing link with this id.", field="linkId")
    return row


async def _acting_user(session: AsyncSession, link: InvoicingLink) -> CrmUser:
    """The admin who registered the link; if they left, another admin, else anyone."""
    if link.user_id:
        user = await session.get(CrmUser, link.user_id)
        if user is not None:
            return user
    users = (
        (await session.execute(select(CrmUser).where(CrmUser.company_id == link.company_id)))
        .scalars()
        .all()
    )
    if not users:
        raise NotFound("There is no invoicing link with this id.", field="linkId")
    return sorted(users, key=lambda u: not u.is_admin)[0]


@dataclass
class Extension:
    """One link's view of the flows: its company, provider and acting user."""

    link: InvoicingLink
    ctx: InvoiceContext
    session: AsyncSession

    @property
    def provider(self) -> str:
        return self.link.provider

    @property
    def adapter(self) -> Any:
        return self.ctx.adapter(self.provider)

    async def call(self, fn: Any) -> Any:
        return await self.ctx.call(self.provider, fn)

    async def connection(self) -> ProviderConnection:
        """The live connection, which must still be the organisation the link names."""
        row = await live_connection(self.ctx, self.provider)
        if row.tenant_id != self.link.tenant_id:
            raise NeedsReauth(
                self.ctx.settings, self.provider, "it now points at another organisation"
            )
        return row

    async def meta(self) -> ProviderMeta:
        await self.connection()
        return await self.ctx.meta_cache.get(self.ctx, self.provider)

    async def today(self) -> date:
        return flows.company_today(await self.meta())

    # --- account --------------------------------------------------------------------------

    async def account(self) -> pd.LinkStatus:
        """LinkStatus: ``authorized:false`` when the connection is missing, disconnected or
        needs an admin to reconnect (Pipedrive then asks for the connect URL)."""
        try:
            meta = await self.meta()
        except (Conflict, ProviderError) as exc:
            if getattr(exc, "status_code", 0) == 409:
                return pd.LinkStatus(authorized=False)
            raise
        return mapping.link_status(meta.organisation, meta.features)

    def connect_url(self) -> pd.LinkAuthURL:
        return pd.LinkAuthURL(url=reconnect_url(self.ctx.settings, self.provider))

    # --- lookups --------------------------------------------------------------------------

    async def currencies(self) -> list[pd.InvoiceCurrency]:
        meta = await self.meta()
        return [mapping.currency(c) for c in meta.currencies]

    async def tax_rates(self) -> list[pd.InvoiceTaxRate]:
        meta = await self.meta()
        return [mapping.tax_rate(t) for t in meta.tax_rates if t.can_apply_to_revenue]

    async def accounts(self) -> list[pd.InvoiceAccount]:
        await self.connection()
        found = await self.call(self.adapter.list_accounts)
        return [mapping.account(a) for a in found]

    async def templates(self) -> list[pd.InvoiceTemplate]:
        meta = await self.meta()
        if not meta.features.templates:
            return []
        found = await self.call(self.adapter.list_templates)
        return [mapping.template(t) for t in found]

    # --- contacts -------------------------------------------------------------------------

    def _contact_url(self, connection: ProviderConnection, contact_id: str) -> str | None:
        build = getattr(self.adapter, "contact_url", None)
        return build(organisation_of(connection), contact_id) if build else None

    async def search_contacts(self, name: str) -> list[pd.Contact]:
        connection = await self.connection()
        adapter = self.adapter
        found = await self.call(lambda c: adapter.search_contacts(c, name.strip()))
        return [
            mapping.contact(c, self._contact_url(connection, c.id))
            for c in found.items
            if c.is_active
        ]

    async def get_contact(self, contact_id: str) -> pd.Contact:
        connection = await self.connection()
        adapter = self.adapter
        try:
            found = await self.call(lambda c: adapter.get_contact(c, contact_id))
        except ProviderNotFound as exc:
            raise NotFound(f"There is no contact {contact_id}.", field="contactId") from exc
        return mapping.contact(found, self._contact_url(connection, contact_id))

    async def _check_contact(self, body: pd.ContactIn, creating: bool) -> None:
        meta = await self.meta()
        limits = meta.features.limits
        if creating and not (body.displayName or "").strip():
            raise ValidationFailed("displayName is required.", field="displayName")
        for name, value, limit in (
            ("displayName", body.displayName, limits.contact_name),
            ("email", body.email, limits.contact_email),
            ("taxId", body.taxId, limits.tax_number),
        ):
            if value is not None and len(value) > limit:
                raise ValidationFailed(
                    f"{name} is {len(value)} characters long; at most {limit} are allowed.",
                    field=name,
                )

    async def create_contact(self, body: pd.ContactIn, key: str) -> pd.Contact:
        await self._check_contact(body, creating=True)
        connection = await self.connection()
        adapter, data = self.adapter, mapping.contact_input(body)
        made = await self.call(lambda c: adapter.create_contact(c, data, idempotency_key=key))
        return mapping.contact(made, self._contact_url(connection, made.id))

    async def update_contact(self, contact_id: str, body: pd.ContactIn) -> pd.Contact:
        await self._check_contact(body, creating=False)
        await self.get_contact(contact_id)
        connection = await self.connection()
        adapter, data = self.adapter, mapping.contact_input(body)
        made = await self.call(lambda c: adapter.update_contact(c, contact_id, data))
        return mapping.contact(made, self._contact_url(connection, made.id))

    # --- products -------------------------------------------------------------------------

    async def search_products(
        self, name: str, code: str | None, force_code: bool
    ) -> list[pd.Product]:
        """By code when ``forceCodeSearch`` asks for it and codes identify items at this
        provider (Xero); otherwise by name, narrowed to the code when one is given."""
        meta = await self.meta()
        adapter = self.adapter
        by_code = bool(code) and force_code and meta.features.item_codes_unique
        if by_code:
            found = await self.call(lambda c: adapter.search_items(c, code=code))
        else:
            found = await self.call(lambda c: adapter.search_items(c, name=name.strip() or None))
            if code:
                found = [i for i in found if (i.code or "").casefold() == code.casefold()]
        base = meta.organisation.base_currency
        return [mapping.product(i, base) for i in found if i.is_active]

    async def get_product(self, product_id: str) -> pd.Product:
        meta = await self.meta()
        adapter = self.adapter
        try:
            item = await self.call(lambda c: adapter.get_item(c, product_id))
        except ProviderNotFound as exc:
            raise NotFound(f"There is no product {product_id}.", field="productId") from exc
        return mapping.product(item, meta.organisation.base_currency)

    async def create_product(self, body: pd.ProductIn, key: str) -> pd.Product:
        meta = await self.meta()
        if not (body.name or "").strip():
            raise ValidationFailed("name is required.", field="name")
        mapping.check_product_limits(body, meta.features)
        adapter, data = self.adapter, mapping.item_input(body)
        item = await self.call(lambda c: adapter.create_item(c, data, idempotency_key=key))
        return mapping.product(item, meta.organisation.base_currency)

    async def update_product(self, product_id: str, body: pd.ProductIn) -> pd.Product:
        meta = await self.meta()
        mapping.check_product_limits(body, meta.features)
        await self.get_product(product_id)
        adapter, data = self.adapter, mapping.item_input(body)
        item = await self.call(lambda c: adapter.update_item(c, product_id, data))
        return mapping.product(item, meta.organisation.base_currency)

    # --- invoices -------------------------------------------------------------------------

    async def _view(self, connection: ProviderConnection, inv: Invoice, today: date) -> pd.Invoice:
        view = self._make_view(connection, inv, today)
        url = self.adapter.invoice_url(organisation_of(connection), inv.id)
        return mapping.invoice(view, inv, url=url)

    def _make_view(self, connection: ProviderConnection, inv: Invoice, today: date) -> InvoiceView:
        return invoice_actions.view_of(connection, inv, today)

    async def _resolve_items(
        self, lines: Sequence[pd.CreateInvoiceLineItem]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Codes for lines that name an item by id only (Xero lines send codes) and ids for
        lines that name it by code only (QuickBooks lines send ids), read concurrently."""
        adapter = self.adapter
        codes: dict[str, str] = {}
        ids: dict[str, str] = {}

        async def by_id(item_id: str) -> None:
            try:
                item = await self.call(lambda c: adapter.get_item(c, item_id))
            except ProviderNotFound as exc:
                raise ValidationFailed(
                    f"There is no product {item_id}.", field="lineItems.productId"
                ) from exc
            if item.code:
                codes[item_id] = item.code

        async def by_code(code: str) -> None:
            found = await self.call(lambda c: adapter.search_items(c, code=code))
            exact = [i for i in found if (i.code or "").casefold() == code.casefold()]
            if len(exact) != 1:
                raise ValidationFailed(
                    f"No single product has the code {code}.", field="lineItems.productCode"
                )
            ids[code] = exact[0].id

        jobs = []
        if self.provider == "xero":
            jobs = [
                by_id(p)
                for p in {ln.productId for ln in lines if ln.productId and not ln.productCode}
            ]
        else:
            jobs = [
                by_code(p)
                for p in {ln.productCode for ln in lines if ln.productCode and not ln.productId}
            ]
        await asyncio.gather(*jobs)
        return codes, ids

    async def create_invoice(self, data: pd.InvoiceCreateData, key: str) -> pd.Invoice:
        """postInvoice: through the invoices create flow, exactly once per derived key."""
        connection = await self.connection()
        meta = await self.meta()
        codes, ids = await self._resolve_items(data.lineItems)
        body = mapping.invoice_in(
            data,
            provider=self.provider,
            base_currency=meta.organisation.base_currency,
            item_codes=codes,
            item_ids=ids,
        )
        # The contract names no deal: the invoice is recorded without one, and the provider
        # invoice carries no deal URL.
        out, _ = await flows.create_invoice(self.ctx, self.session, None, body, key)
        inv = mapping.invoice_dto(out)
        return await self._view(connection, inv, flows.company_today(meta))

    async def _invoice(self, invoice_id: str) -> Invoice:
        return await invoice_actions.provider_invoice(self.ctx, self.provider, invoice_id)

    async def search_invoices(
        self,
        ids: str | None,
        customer_id: str | None,
        start: str | None,
        end: str | None,
        page: int,
    ) -> list[pd.Invoice]:
        connection = await self.connection()
        today = await self.today()
        adapter = self.adapter
        if ids:
            wanted = [i.strip() for i in ids.split(",") if i.strip()][:100]
            found = await self.call(lambda c: adapter.get_invoices(c, wanted))
            items = list(found)
        elif customer_id:
            date_from = mapping.parse_date(start, "startDate")
            date_to = mapping.parse_date(end, "endDate")
            result = await self.call(
                lambda c: adapter.search_invoices(
                    c,
                    contact_id=customer_id,
                    date_from=date_from,
                    date_to=date_to,
                    page=page,
                    page_size=SEARCH_PAGE_SIZE,
                )
            )
            items = list(result.items)
        else:
            raise ValidationFailed("Search by ids, or by customerId and startDate.", field="ids")
        return [await self._view(connection, inv, today) for inv in items]

    async def change_status(self, invoice_id: str, raw_action: str) -> pd.Invoice:
        """postInvoiceStatus: the action must be one the invoice offers now, else 409."""
        action = mapping.action_id(raw_action)
        if action not in STATUS_ACTIONS:
            raise ValidationFailed(f"{raw_action} is not a status action.", field="id")
        return await self._act(invoice_id, action)

    async def email(self, invoice_id: str) -> pd.Invoice:
        return await self._act(invoice_id, "EMAIL")

    async def _act(self, invoice_id: str, action: str) -> pd.Invoice:
        # The same service as the deal panel's buttons (app.invoices.actions).
        connection = await self.connection()
        done = await invoice_actions.act(
            self.ctx,
            self.session,
            self.provider,
            invoice_id,
            action,
            today=await self.today(),
            via="pipedrive_invoicing_extension",
            connection=connection,
        )
        url = self.adapter.invoice_url(organisation_of(connection), done.invoice.id)
        return mapping.invoice(done.view, done.invoice, url=url)

    async def share_url(self, invoice_id: str) -> pd.LinkAuthURL:
        await self.connection()
        return pd.LinkAuthURL(
            url=await invoice_actions.share_url(self.ctx, self.provider, invoice_id)
        )

    async def pdf(self, invoice_id: str) -> tuple[bytes, str]:
        """The PDF and its file name (the invoice number, else its id), made filename-safe."""
        await self.connection()
        return await invoice_actions.invoice_pdf(self.ctx, self.provider, invoice_id)

    async def summary(self, contact_id: str, a: str | None, b: str | None) -> list[pd.SummaryRow]:
        """Totals per currency of the contact's invoices issued in the range. ``from`` and
        ``to`` are described swapped on Pipedrive's page, so the earlier date is the start."""
        connection = await self.connection()
        today = await self.today()
        dates = sorted(
            d for d in (mapping.parse_date(a, "from"), mapping.parse_date(b, "to")) if d is not None
        )
        date_from = dates[0] if dates else None
        date_to = dates[-1] if len(dates) == 2 else None
        adapter = self.adapter
        views: list[InvoiceView] = []
        for page in range(1, SUMMARY_MAX_PAGES + 1):
            result = await self.call(
                lambda c, p=page: adapter.search_invoices(
                    c, contact_id=contact_id, date_from=date_from, date_to=date_to, page=p
                )
            )
            views.extend(self._make_view(connection, inv, today) for inv in result.items)
            if not result.has_more:
                break
        return mapping.summary(views)


async def open_link(request: Any, session: AsyncSession, link_id: str) -> Extension:
    """The link named by ``:linkId`` (404 when unknown) with its flows' context."""
    link = await find_link(session, link_id)
    user = await _acting_user(session, link)
    return Extension(link=link, ctx=flows.context(request, user), session=session)
