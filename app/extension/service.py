"""The extension's use cases for one link: the account, lookups, contacts and products.

A call arrives with only ``:linkId``: ``open_link`` finds the company, provider and user it
stands for and builds the invoice flows' ``InvoiceContext`` for them, so every provider call
goes through the token service (locked refresh; 409 with ``reconnect_url`` when the connection
needs an admin). The invoice endpoints are in ``app.extension.invoices``, on the same
``Extension``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.exceptions import NeedsReauth, reconnect_url
from app.connections.models import ProviderConnection
from app.errors import Conflict, NotFound, ValidationFailed
from app.extension import mapping
from app.extension import schemas as pd
from app.extension.models import InvoicingLink
from app.extension.repository import acting_user, find_link
from app.invoices import flows
from app.invoices.context import InvoiceContext, live_connection, organisation_of
from app.invoices.rules.meta import ProviderMeta
from app.providers.base import ProviderError, ProviderNotFound
from app.tenants.permissions import Permission, permissions_of
from app.web import spend_request_budget


@dataclass
class Extension:
    """One link's view of the flows: its company, provider and acting user."""

    link: InvoicingLink
    ctx: InvoiceContext
    session: AsyncSession
    # What the acting user's Pipedrive role may do (app.tenants.permissions): invoices show
    # only those actions, and the flows refuse the rest with 403 naming the permission.
    permissions: frozenset[Permission] = frozenset()

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
        row = await live_connection(self.ctx, self.provider, self.session)
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

    def _contact_url(self, connection: ProviderConnection, contact_id: str) -> str:
        url: str = self.adapter.contact_url(organisation_of(connection), contact_id)
        return url

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
        mapping.check_lengths(
            (
                ("displayName", body.displayName, limits.contact_name),
                ("email", body.email, limits.contact_email),
                ("taxId", body.taxId, limits.tax_number),
            )
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


async def open_link(request: Any, session: AsyncSession, link_id: str) -> Extension:
    """The link named by ``:linkId`` (404 when unknown) with its flows' context; the request
    counts against the link's company's request budget (429 past it)."""
    link = await find_link(session, link_id)
    await spend_request_budget(request, link.company_id)
    user = await acting_user(session, link)
    return Extension(
        link=link,
        ctx=flows.context(request, user),
        session=session,
        permissions=await permissions_of(session, user),
    )
