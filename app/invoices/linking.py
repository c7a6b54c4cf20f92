"""Linking CRM records to provider records, searching the provider, creating a missing item or
contact in one click, and updating a contact from the CRM (re-exported by ``flows``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.pipedrive.errors import PipedriveNotFound
from app.crm.pipedrive.schemas import Product
from app.errors import Conflict, NotFound, ValidationFailed
from app.invoices.metadata import InvoiceContext
from app.invoices.models import ContactLink, ItemLink
from app.invoices.repository import ContactLinkRepository, ItemLinkRepository
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
    Address,
    Contact,
    ContactInput,
    Item,
    ItemInput,
    ProviderNotFound,
    ProviderValidationError,
)

PROVIDERS = ("xero", "quickbooks")


def check_provider(provider: str) -> Provider:
    if provider not in PROVIDERS:
        raise ValidationFailed("provider must be xero or quickbooks", field="provider")
    return provider  # type: ignore[return-value]


def address_text(address: Address | None) -> str | None:
    if address is None or address.is_empty():
        return None
    parts = [*address.lines, address.city, address.region, address.postal_code, address.country]
    return ", ".join(p for p in parts if p) or None


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut(
        id=contact.id,
        name=contact.name,
        email=contact.email,
        tax_number=contact.tax_number,
        currency=contact.currency,
        address=address_text(contact.address),
    )


def item_out(item: Item) -> ItemOut:
    return ItemOut(
        id=item.id,
        name=item.name,
        code=item.code,
        description=item.description,
        unit_price=item.unit_price,
        tax_code=item.tax_code,
        account_code=item.account_code,
    )


def _norm(text: str | None) -> str:
    return " ".join((text or "").replace(",", " ").split()).casefold()


def contact_diff(
    contact: Contact, email: str | None, address: str | None, tax_id: str | None
) -> list[FieldChange]:
    """What pushing the CRM's email, address and tax id would change on the contact: only the
    fields the CRM has and that differ (ignoring case, commas and spacing)."""
    out: list[FieldChange] = []
    current = {
        "email": contact.email,
        "address": address_text(contact.address),
        "tax_id": contact.tax_number,
    }
    for name, value in (("email", email), ("address", address), ("tax_id", tax_id)):
        if value and value.strip() and _norm(value) != _norm(current[name]):
            out.append(FieldChange(field=name, provider_value=current[name], crm_value=value))
    return out


def contact_input(changes: Sequence[FieldChange]) -> ContactInput:
    values: dict[str, Any] = {}
    for change in changes:
        if change.field == "email":
            values["email"] = change.crm_value
        elif change.field == "tax_id":
            values["tax_number"] = change.crm_value
        else:
            values["address"] = Address(lines=(change.crm_value,))
    return ContactInput(**values)


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


async def _crm_product(ctx: InvoiceContext, session: AsyncSession, product_id: int) -> Product:
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


async def _provider_item(ctx: InvoiceContext, provider: str, item_id: str) -> Item:
    adapter = ctx.adapter(provider)
    try:
        return await ctx.call(provider, lambda c: adapter.get_item(c, item_id))
    except (ProviderNotFound, ProviderValidationError) as exc:
        raise ValidationFailed(
            f"There is no item {item_id} in this organisation.", field="item_id"
        ) from exc


async def _provider_contact(
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
    _, item = await asyncio.gather(
        _crm_product(ctx, session, product_id), _provider_item(ctx, provider, item_id)
    )
    await remember_item(
        session, ctx.company_id, provider, product_id, item.id, item.code, item.name
    )
    return item_out(item)


async def unlink_item(
    ctx: InvoiceContext, session: AsyncSession, provider: str, product_id: int
) -> None:
    repo = ItemLinkRepository(session, ctx.company_id)
    row = await repo.one(check_provider(provider), product_id)
    if row is None:
        raise NotFound(f"Product {product_id} is not linked to a {provider} item.")
    await repo.delete(row)


async def _crm_entity(ctx: InvoiceContext, session: AsyncSession, entity: str, crm_id: int) -> None:
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
    _, contact = await asyncio.gather(
        _crm_entity(ctx, session, entity, crm_id), _provider_contact(ctx, provider, contact_id)
    )
    await remember_contact(session, ctx.company_id, provider, entity, crm_id, contact)
    return contact_out(contact)


async def unlink_contact(
    ctx: InvoiceContext, session: AsyncSession, provider: str, entity: str, crm_id: int
) -> None:
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
        await _crm_product(ctx, session, body.crm_product_id)
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


def contact_data(
    name: str | None,
    email: str | None,
    address: str | None,
    tax_id: str | None,
    currency: str | None,
) -> ContactInput:
    return ContactInput(
        name=name,
        email=email or None,
        address=Address(lines=(address,)) if address else None,
        tax_number=tax_id or None,
        currency=currency or None,
    )


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
        await _crm_entity(ctx, session, body.crm_entity, body.crm_id)
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
    contact = await _provider_contact(ctx, provider, contact_id)
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
            import hashlib

            return hashlib.sha256(header.encode()).hexdigest()[:36]
        return header.strip()
    import uuid

    return str(uuid.uuid4())


async def default_account(ctx: InvoiceContext, session: AsyncSession, provider: str) -> str | None:
    """The sales account for a one-click item: the company's preference, else (QuickBooks,
    which requires one) its first income account."""
    prefs, _ = await load_preferences(session, ctx.company_id, provider, None)  # type: ignore[arg-type]
    if prefs.defaults.revenue_account:
        return prefs.defaults.revenue_account
    if provider != "quickbooks":
        return None
    adapter = ctx.adapter(provider)
    accounts = await ctx.call(provider, adapter.list_accounts)
    income = [a for a in accounts if a.type.lower() == "income"] or list(accounts)
    return income[0].code if income else None
