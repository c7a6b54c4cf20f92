"""Linking CRM records to provider records, searching the provider, creating a missing item or
contact in one click, and updating a contact from the CRM."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.pipedrive.errors import PipedriveNotFound
from app.crm.pipedrive.schemas import Product
from app.errors import Conflict, NotFound, ValidationFailed
from app.invoices.context import InvoiceContext
from app.invoices.models import ContactLink, ItemLink
from app.invoices.repository import ContactLinkRepository, ItemLinkRepository
from app.invoices.rules.contacts import (
    contact_data,
    contact_diff,
    contact_input,
    contact_out,
    item_out,
)
from app.invoices.schemas import (
    ContactOut,
    CreateContactIn,
    CreateItemIn,
    FieldChange,
    ItemOut,
)
from app.preferences.schemas import Provider
from app.preferences.service import load_preferences
from app.providers.base import (
    Contact,
    Item,
    ItemInput,
    ProviderNotFound,
    ProviderValidationError,
)
from app.tenants.permissions import Permission, require

PROVIDERS = ("xero", "quickbooks")


async def first_error_from_crm(crm: Awaitable[Any], provider: Awaitable[Any]) -> Any:
    """Both reads at once; the CRM's refusal wins (another company's record is a 404 before
    anything is said about the provider id). Returns the provider's answer."""
    results = await asyncio.gather(crm, provider, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results[1]


def check_provider(provider: str) -> Provider:
    if provider not in PROVIDERS:
        raise ValidationFailed("provider must be xero or quickbooks", field="provider")
    return provider  # type: ignore[return-value]


# --- search, link, create -----------------------------------------------------------------------


async def search_items(
    ctx: InvoiceContext, provider: str, q: str | None = None, code: str | None = None
) -> list[ItemOut]:
    """The provider's items: by exact code, or whose name contains ``q``."""
    adapter = ctx.adapter(check_provider(provider))
    items = await ctx.call(
        provider, lambda c: adapter.search_items(c, name=q or None, code=code or None)
    )
    return [item_out(i) for i in items if i.is_active]


async def search_contacts(
    ctx: InvoiceContext, provider: str, q: str, page: int = 1
) -> list[ContactOut]:
    """The provider's contacts whose name or email contains ``q``."""
    adapter = ctx.adapter(check_provider(provider))
    found = await ctx.call(provider, lambda c: adapter.search_contacts(c, q, page=page))
    return [contact_out(c) for c in found.items if c.is_active]


async def crm_product(ctx: InvoiceContext, session: AsyncSession, product_id: int) -> Product:
    client, _ = await ctx.pipedrive(session)
    found = await client.products([product_id])
    product = found.get(product_id)
    if product is None:
        raise NotFound(f"Product {product_id} was not found in Pipedrive.", field="product_id")
    if product.is_deleted:
        raise Conflict(
            f"Product {product_id} was deleted in Pipedrive.",
            field="product_id",
            code="product_deleted",
        )
    return product


async def provider_item(ctx: InvoiceContext, provider: str, item_id: str) -> Item:
    adapter = ctx.adapter(provider)
    try:
        return await ctx.call(provider, lambda c: adapter.get_item(c, item_id))
    except (ProviderNotFound, ProviderValidationError) as exc:
        raise ValidationFailed(
            f"There is no item {item_id} in this organisation.", field="item_id"
        ) from exc


async def provider_contact(
    ctx: InvoiceContext, provider: str, contact_id: str, field: str = "contact_id"
) -> Contact:
    adapter = ctx.adapter(provider)
    try:
        return await ctx.call(provider, lambda c: adapter.get_contact(c, contact_id))
    except (ProviderNotFound, ProviderValidationError) as exc:
        raise ValidationFailed(
            f"There is no contact {contact_id} in this organisation.", field=field
        ) from exc


async def remember_item(
    session: AsyncSession,
    company_id: str,
    provider: str,
    product_id: int,
    item_id: str,
    code: str | None,
    name: str,
) -> ItemLink:
    repo = ItemLinkRepository(session, company_id)
    row = await repo.one(provider, product_id)
    if row is None:
        row = repo.add(ItemLink(provider=provider, crm_product_id=product_id, item_id=item_id))
    row.item_id, row.item_code, row.item_name = item_id, code, name
    await session.flush()
    return row


async def remember_contact(
    session: AsyncSession,
    company_id: str,
    provider: str,
    entity: str,
    crm_id: int,
    contact: Contact | ContactOut,
) -> ContactLink:
    repo = ContactLinkRepository(session, company_id)
    row = await repo.one(provider, entity, crm_id)
    if row is None:
        row = repo.add(
            ContactLink(provider=provider, crm_entity=entity, crm_id=crm_id, contact_id=contact.id)
        )
    row.contact_id, row.contact_name, row.contact_currency = (
        contact.id,
        contact.name,
        contact.currency,
    )
    await session.flush()
    return row


async def link_item(
    ctx: InvoiceContext, session: AsyncSession, provider: str, product_id: int, item_id: str
) -> ItemOut:
    """Remember that this CRM product is this provider item (both must exist)."""
    provider = check_provider(provider)
    await require(session, ctx.user, Permission.link)
    item: Item = await first_error_from_crm(
        crm_product(ctx, session, product_id), provider_item(ctx, provider, item_id)
    )
    await remember_item(
        session, ctx.company_id, provider, product_id, item.id, item.code, item.name
    )
    return item_out(item)


async def unlink_item(
    ctx: InvoiceContext, session: AsyncSession, provider: str, product_id: int
) -> None:
    await require(session, ctx.user, Permission.unlink)
    repo = ItemLinkRepository(session, ctx.company_id)
    row = await repo.one(check_provider(provider), product_id)
    if row is None:
        raise NotFound(f"Product {product_id} is not linked to a {provider} item.")
    await repo.delete(row)


async def crm_entity(ctx: InvoiceContext, session: AsyncSession, entity: str, crm_id: int) -> None:
    client, _ = await ctx.pipedrive(session)
    try:
        record = await (
            client.organization(crm_id) if entity == "organization" else client.person(crm_id)
        )
    except PipedriveNotFound as exc:
        raise NotFound(
            f"The {entity} {crm_id} was not found in Pipedrive.", field="crm_id"
        ) from exc
    if getattr(record, "is_deleted", False):
        raise Conflict(f"The {entity} {crm_id} was deleted in Pipedrive.", field="crm_id")


def check_entity(entity: str) -> str:
    if entity not in ("organization", "person"):
        raise NotFound("unknown CRM entity; use organization or person")
    return entity


async def link_contact(
    ctx: InvoiceContext,
    session: AsyncSession,
    provider: str,
    entity: str,
    crm_id: int,
    contact_id: str,
) -> ContactOut:
    """Remember that this CRM organization or person is this provider contact."""
    provider = check_provider(provider)
    check_entity(entity)
    await require(session, ctx.user, Permission.link)
    contact: Contact = await first_error_from_crm(
        crm_entity(ctx, session, entity, crm_id), provider_contact(ctx, provider, contact_id)
    )
    await remember_contact(session, ctx.company_id, provider, entity, crm_id, contact)
    return contact_out(contact)


async def unlink_contact(
    ctx: InvoiceContext, session: AsyncSession, provider: str, entity: str, crm_id: int
) -> None:
    await require(session, ctx.user, Permission.unlink)
    repo = ContactLinkRepository(session, ctx.company_id)
    row = await repo.one(check_provider(provider), check_entity(entity), crm_id)
    if row is None:
        raise NotFound(f"The {entity} {crm_id} is not linked to a {provider} contact.")
    await repo.delete(row)


async def create_item(
    ctx: InvoiceContext, session: AsyncSession, provider: str, body: CreateItemIn, key: str
) -> ItemOut:
    """Create the item at the provider (one click from an unlinked line) and link the product."""
    provider = check_provider(provider)
    meta = await ctx.meta_cache.get(ctx, provider)
    limits = meta.features.limits
    for name, value, limit in (
        ("name", body.name, limits.item_name),
        ("code", body.code, limits.item_code),
        ("description", body.description, limits.item_description),
    ):
        if value and len(value) > limit:
            raise ValidationFailed(
                f"The item {name} is {len(value)} characters; {meta.label} allows {limit}.",
                field=name,
            )
    if body.crm_product_id:
        await crm_product(ctx, session, body.crm_product_id)
    adapter = ctx.adapter(provider)
    account = body.account_code or await default_account(ctx, session, provider)
    data = ItemInput(
        name=body.name,
        code=body.code,
        description=body.description,
        unit_price=body.unit_price,
        account_code=account,
        tax_code=body.tax_code,
    )
    item = await ctx.call(provider, lambda c: adapter.create_item(c, data, idempotency_key=key))
    if body.crm_product_id:
        await remember_item(
            session, ctx.company_id, provider, body.crm_product_id, item.id, item.code, item.name
        )
    return item_out(item)


async def create_contact(
    ctx: InvoiceContext, session: AsyncSession, provider: str, body: CreateContactIn, key: str
) -> ContactOut:
    """Create the contact at the provider and link the CRM organization or person to it."""
    provider = check_provider(provider)
    meta = await ctx.meta_cache.get(ctx, provider)
    limit = meta.features.limits.contact_name
    if len(body.name) > limit:
        raise ValidationFailed(
            f"The contact name is too long; {meta.label} allows {limit} characters.",
            field="name",
        )
    if body.crm_entity and body.crm_id:
        await crm_entity(ctx, session, body.crm_entity, body.crm_id)
    adapter = ctx.adapter(provider)
    data = contact_data(body.name, body.email, body.address, body.tax_id, body.currency)
    contact = await ctx.call(
        provider, lambda c: adapter.create_contact(c, data, idempotency_key=key)
    )
    if body.crm_entity and body.crm_id:
        await remember_contact(
            session, ctx.company_id, provider, body.crm_entity, body.crm_id, contact
        )
    return contact_out(contact)


async def contact_changes(
    ctx: InvoiceContext,
    provider: str,
    contact_id: str,
    email: str | None,
    address: str | None,
    tax_id: str | None,
    apply: bool,
) -> tuple[ContactOut, list[FieldChange]]:
    """What "update customer info in the provider" changes on the contact; with ``apply``,
    push exactly those fields (others are left as they are)."""
    provider = check_provider(provider)
    contact = await provider_contact(ctx, provider, contact_id)
    changes = contact_diff(contact, email, address, tax_id)
    if apply and changes:
        adapter = ctx.adapter(provider)
        data = contact_input(changes)
        contact = await ctx.call(provider, lambda c: adapter.update_contact(c, contact_id, data))
    return contact_out(contact), changes


def one_click_key(header: str | None) -> str:
    """The idempotency key for a one-click create: the caller's, else a fresh one."""
    if header and header.strip():
        if len(header) > 36:
            return hashlib.sha256(header.encode()).hexdigest()[:36]
        return header.strip()
    return str(uuid.uuid4())


async def default_account(ctx: InvoiceContext, session: AsyncSession, provider: str) -> str | None:
    """The sales account for a one-click item: the company's preference, else (where the
    provider requires one, ``features.item_account_required``) its first income account."""
    prefs, _ = await load_preferences(session, ctx.company_id, provider, None)  # type: ignore[arg-type]
    if prefs.defaults.revenue_account:
        return prefs.defaults.revenue_account
    meta = await ctx.meta_cache.get(ctx, provider)
    if not meta.features.item_account_required:
        return None
    adapter = ctx.adapter(provider)
    accounts = await ctx.call(provider, adapter.list_accounts)
    income = [a for a in accounts if a.type.lower() == "income"] or list(accounts)
    return income[0].code if income else None
