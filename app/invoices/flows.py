"""Invoicing use cases, shared by our JSON API, the deal page and Pipedrive's Invoicing extension.

Every flow takes an ``InvoiceContext`` (who acts; app state) and plain inputs, and returns the
API shapes of ``app.invoices.schemas``:

* ``build_draft(ctx, session, deal_id, provider)`` → ``DraftOut``: the proposed invoice.
* ``create_invoice(ctx, session, deal_id, body, idempotency_key)`` → ``(InvoiceOut, created)``:
  exactly once per key (see ``app.invoices.creation``).
* ``list_invoices(ctx, session, deal_id)`` → ``list[InvoiceOut]``.
* ``act_on_invoice``, ``invoice_pdf``, ``invoice_share_url``: acting on an invoice at the
  provider (``app.invoices.actions``; the panel and the extension share them).
* ``search_items`` / ``search_contacts``, ``link_item`` / ``unlink_item``,
  ``link_contact`` / ``unlink_contact``, ``create_item`` / ``create_contact``,
  ``contact_changes`` (and apply them).

Routes stay thin: they build the context, call one flow, and return its result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.dependencies import get_token_service
from app.connections.models import ConnectionStatus, ProviderConnection
from app.crm.pipedrive.client import PipedriveClient
from app.crm.pipedrive.errors import PipedriveNotFound
from app.crm.pipedrive.schemas import Deal, DealData, Product
from app.crm.pipedrive.service import field_cache
from app.errors import AppError, NotFound
from app.invoices.actions import act as act_on_invoice
from app.invoices.actions import invoice_pdf
from app.invoices.actions import share_url as invoice_share_url
from app.invoices.linking import (
    _crm_entity,
    _crm_product,
    _provider_contact,
    _provider_item,
    address_text,
    check_entity,
    check_provider,
    contact_changes,
    contact_data,
    contact_diff,
    contact_input,
    contact_out,
    create_contact,
    create_item,
    default_account,
    item_out,
    link_contact,
    link_item,
    one_click_key,
    remember_contact,
    remember_item,
    search_contacts,
    search_items,
    unlink_contact,
    unlink_item,
)
from app.invoices.metadata import InvoiceContext, MetaCache
from app.invoices.models import ContactLink, DealInvoice, InvoiceStatus, ItemLink
from app.invoices.repository import ContactLinkRepository, InvoiceRepository, ItemLinkRepository
from app.invoices.schemas import (
    Check,
    CustomerIn,
    CustomerOut,
    DetailsOut,
    DraftLine,
    DraftOut,
    InvoiceIn,
    InvoiceOut,
    LineIn,
    PreviewOut,
)
from app.invoices.service import (
    CheckInput,
    ItemChoice,
    ProviderMeta,
    compute_totals,
    discount_lines,
    global_discount_for,
    product_line,
    run_checks,
    tax_code_for,
    tax_mode_for,
)
from app.kit.signing import Signer
from app.preferences.due_dates import DueRule, Terms
from app.preferences.service import invoice_prefill, load_preferences
from app.providers.base import (
    Invoice,
    Item,
    PaymentTerms,
    ProviderNotFound,
    TaxMode,
)
from app.providers.money import from_minor
from app.providers.view import invoice_view
from app.providers.xero.spec import role_can_approve

# Xero sends Windows-style zone names (NEWZEALANDSTANDARDTIME); the ones our customers use.
WINDOWS_ZONES = {
    "NEWZEALANDSTANDARDTIME": "Pacific/Auckland",
    "AUSEASTERNSTANDARDTIME": "Australia/Sydney",
    "EAUSTRALIASTANDARDTIME": "Australia/Brisbane",
    "WAUSTRALIASTANDARDTIME": "Australia/Perth",
    "GMTSTANDARDTIME": "Europe/London",
    "WEUROPESTANDARDTIME": "Europe/Berlin",
    "PACIFICSTANDARDTIME": "America/Los_Angeles",
    "EASTERNSTANDARDTIME": "America/New_York",
    "CENTRALSTANDARDTIME": "America/Chicago",
    "UTC": "UTC",
}


def context(request: Request, user: Any) -> InvoiceContext:
    """The flows' context from a request of our app (any surface)."""
    state = request.app.state
    cache = getattr(state, "invoice_meta", None)
    if cache is None:
        cache = state.invoice_meta = MetaCache()
    return InvoiceContext(
        settings=state.settings,
        sessionmaker=state.sessionmaker,
        http=state.http,
        tokens=get_token_service(request),
        fields=field_cache(request),
        user=user,
        meta_cache=cache,
    )


def company_today(meta: ProviderMeta, now: datetime | None = None) -> date:
    """Today in the connected organisation's timezone (UTC when it does not say)."""
    name = meta.organisation.timezone or "UTC"
    try:
        zone = ZoneInfo(WINDOWS_ZONES.get(name.upper(), name))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (now or datetime.now(UTC)).astimezone(zone).date()


def contact_terms(terms: PaymentTerms | None) -> Terms | None:
    """A provider contact's own sales terms as our due-date rule, when they say enough."""
    if terms is None:
        return None
    if terms.day is not None and terms.type:
        rule = {
            "DAYSAFTERBILLDATE": DueRule.days_after_invoice,
            "DAYSAFTERBILLMONTH": DueRule.days_after_end_of_month,
            "OFCURRENTMONTH": DueRule.day_of_current_month,
            "OFFOLLOWINGMONTH": DueRule.day_of_following_month,
        }.get(terms.type.upper())
        return Terms(rule, terms.day) if rule else None
    digits = "".join(ch for ch in (terms.name or "") if ch.isdigit())
    if digits:
        return Terms(DueRule.days_after_invoice, int(digits))
    if terms.name and "receipt" in terms.name.lower():
        return Terms(DueRule.days_after_invoice, 0)
    return None


async def read_deal(client: PipedriveClient, deal_id: int) -> Deal:
    try:
        deal = await client.deal(deal_id)
    except PipedriveNotFound as exc:
        raise NotFound(f"Deal {deal_id} was not found in Pipedrive.", field="deal_id") from exc
    if deal.is_deleted:
        raise NotFound(
            f"Deal {deal_id} was deleted in Pipedrive.", field="deal_id", code="deal_deleted"
        )
    return deal


DEAL_TOKEN_TTL = 12 * 3600


def deal_signer(ctx: InvoiceContext) -> Signer:
    return Signer(ctx.settings.secret_key, "invoice-deal")


def deal_token(ctx: InvoiceContext, deal_id: int, url: str) -> str:
    """Signed (company, deal, deal URL): the draft hands it to the create call."""
    return deal_signer(ctx).sign({"c": ctx.company_id, "d": deal_id, "u": url}, DEAL_TOKEN_TTL)


async def ensure_deal(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, token: str | None
) -> str:
    """The deal belongs to the company and is not deleted: proven by the draft's token, else
    read from the CRM (404 for another company's or a deleted deal). Returns its URL."""
    if token:
        try:
            claims = deal_signer(ctx).unsign(token)
        except AppError:
            claims = {}
        if claims.get("c") == ctx.company_id and claims.get("d") == deal_id and claims.get("u"):
            return str(claims["u"])
    client, api_domain = await ctx.pipedrive(session)
    await read_deal(client, deal_id)
    return deal_url(api_domain, deal_id)


def deal_url(api_domain: str, deal_id: int) -> str:
    return f"{api_domain.rstrip('/')}/deal/{deal_id}"


# --- the draft ----------------------------------------------------------------------------------


async def build_draft(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, provider: str
) -> DraftOut:
    """The proposed invoice for a deal: two concurrent rounds of CRM reads (the deal with its
    products and discounts; then organization, person and product codes, together with the
    linked contact), preferences applied, lines in the provider's form, totals as the provider
    computes them, and the checks. Provider metadata comes from a short cache."""
    provider = check_provider(provider)
    client, api_domain = await ctx.pipedrive(session)
    prefs, _ = await load_preferences(session, ctx.company_id, provider, None)
    adapter = ctx.adapter(provider)
    # One concurrent round; every answer is awaited before any failure is raised, so the
    # deal's own answer decides: a missing, foreign or deleted deal is named as such, never
    # as whichever of its products or discounts happened to fail first.
    deal_or_error, lines, discounts, meta_or_error, definitions = await asyncio.gather(
        read_deal(client, deal_id),
        client.deal_products(deal_id),
        client.deal_discounts(deal_id),
        ctx.meta_cache.get(ctx, provider),
        ctx.fields.get(ctx.company_id, client),
        return_exceptions=True,
    )
    # The deal's own answer first: another company's deal is a 404, even when unconnected.
    if isinstance(deal_or_error, BaseException):
        raise deal_or_error
    for read in (lines, discounts):
        if isinstance(read, PipedriveNotFound):
            # The deal was there a moment ago: it went between the reads.
            raise NotFound(f"Deal {deal_id} was not found in Pipedrive.", field="deal_id")
    for result in (lines, discounts, meta_or_error, definitions):
        if isinstance(result, BaseException):
            raise result
    deal: Deal = deal_or_error
    assert not isinstance(lines, BaseException) and not isinstance(discounts, BaseException)
    meta: ProviderMeta = meta_or_error  # type: ignore[assignment]
    enabled = [p for p in lines if p.is_enabled]
    product_ids = [p.product_id for p in enabled if p.product_id]
    item_links = await ItemLinkRepository(session, ctx.company_id).for_products(
        provider, product_ids
    )
    contacts = ContactLinkRepository(session, ctx.company_id)
    link: ContactLink | None = None
    if deal.org_id:
        link = await contacts.one(provider, "organization", deal.org_id)
    if link is None and deal.person_id:
        link = await contacts.one(provider, "person", deal.person_id)
    unlinked = [pid for pid in product_ids if pid not in item_links]

    async def optional(call: Any) -> Any:
        try:
            return await call
        except (PipedriveNotFound, ProviderNotFound):
            return None

    async def nothing() -> None:
        return None

    org, person, catalog, linked_contact, all_items = await asyncio.gather(
        optional(client.organization(deal.org_id)) if deal.org_id else nothing(),
        optional(client.person(deal.person_id)) if deal.person_id else nothing(),
        client.products(product_ids) if product_ids else asyncio.sleep(0, result={}),
        optional(ctx.call(provider, lambda c: adapter.get_contact(c, link.contact_id)))
        if link
        else nothing(),
        ctx.call(provider, lambda c: adapter.search_items(c)) if unlinked else nothing(),
    )
    data = DealData(
        deal=deal,
        products=lines,
        discounts=discounts,
        organization=org,
        person=person,
        catalog=catalog or {},
    )
    today = company_today(meta)
    prefill = invoice_prefill(
        provider,
        prefs,
        data,
        definitions,  # type: ignore[arg-type]
        today,
        contact_terms(linked_contact.payment_terms) if linked_contact else None,
    )
    customer = CustomerOut(
        **prefill.customer.as_dict(), update_contact=prefs.defaults.update_customer_info
    )
    if org is not None:
        customer.crm_entity, customer.crm_id = "organization", org.id
    elif person is not None:
        customer.crm_entity, customer.crm_id = "person", person.id
    checks: list[Check] = [
        Check(
            code=f"mapping_{w.target}",
            severity="warning",
            field=f"customer.{w.target}",
            message=w.message,
        )
        for w in prefill.customer.warnings
    ]
    if linked_contact is not None:
        customer.link_state = "linked"
        customer.contact = contact_out(linked_contact)
        customer.changes = contact_diff(
            linked_contact, customer.email, customer.address, customer.tax_id
        )
    elif link is not None:
        checks.append(
            Check(
                code="contact_gone",
                severity="warning",
                field="customer",
                message=f"The linked {meta.label} contact {link.contact_name} no longer exists; "
                "choose or create another.",
            )
        )
    if customer.contact is None and customer.to:
        found = await ctx.call(provider, lambda c: adapter.search_contacts(c, customer.to or ""))
        exact = [c for c in found.items if c.name.casefold() == (customer.to or "").casefold()]
        customer.suggestions = [contact_out(c) for c in exact]
        if len(exact) == 1:
            customer.link_state = "suggested"
            customer.contact = customer.suggestions[0]
            customer.changes = contact_diff(
                exact[0], customer.email, customer.address, customer.tax_id
            )

    mode, mixed = tax_mode_for(enabled, prefs.defaults.tax_mode)
    if mixed:
        checks.append(
            Check(
                code="tax_methods_mixed",
                severity="warning",
                field="tax_mode",
                message="The deal's products mix tax methods; the invoice uses one "
                "tax mode, exclusive. Check the line prices.",
            )
        )
    # Tax-inclusive prices where the provider takes none (QuickBooks US): the lines become
    # their exclusive equivalents, so the draft passes its own tax mode check.
    strip_inclusive = mode is TaxMode.inclusive and mode not in meta.features.tax_modes
    if strip_inclusive:
        mode = TaxMode.exclusive
        checks.append(
            Check(
                code="tax_inclusive_converted",
                severity="warning",
                field="tax_mode",
                message=f"{meta.label} takes no tax-inclusive prices: the deal's prices are "
                "shown without their tax, and "
                + (
                    f"{meta.label} works out the sales tax itself."
                    if meta.automated_tax
                    else "tax is added on top."
                ),
            )
        )
    default_code = prefs.defaults.tax_rate
    draft_lines: list[DraftLine] = []
    for index, product in enumerate(enabled):
        crm = (catalog or {}).get(product.product_id or -1)
        if product.product_id and (crm is None or crm.is_deleted):
            checks.append(
                Check(
                    code="product_deleted",
                    severity="error",
                    field=f"lines[{index}]",
                    message=f"Line {index + 1} ({product.name}): the product was deleted "
                    "in Pipedrive; remove the line from the deal.",
                )
            )
        choice = item_choice(product.product_id, crm, item_links, all_items or [], meta)
        code = tax_code_for(meta, product.tax, mode, default_code)
        line = product_line(
            meta, product, crm.code if crm else None, mode, code, choice, strip_inclusive
        )
        if choice is None and prefs.defaults.revenue_account:
            # A description-only line books to the company's sales account.
            line.account_code = prefs.defaults.revenue_account
        if choice is None:
            # Several items share the code or name: offer them, choose none.
            line.item_suggestions = [item_out(i) for i in candidates(crm, all_items or [])]
        if code is None and mode is not TaxMode.no_tax:
            checks.append(
                Check(
                    code="tax_unmapped",
                    severity="error",
                    field=f"lines[{index}].tax_code",
                    message=f"Line {index + 1} ({product.name}): {meta.label} has no "
                    f"sales tax rate of {product.tax} %; choose one.",
                )
            )
        draft_lines.append(line)
    discount = None
    if meta.features.global_discount:
        discount = global_discount_for(data, draft_lines, mode)
    else:
        draft_lines.extend(discount_lines(meta, data, draft_lines, mode))
    totals, amounts = compute_totals(meta, draft_lines, mode, discount, default_code)
    for line, amount in zip(draft_lines, amounts, strict=True):
        line.amount = amount
    checks += run_checks(
        meta,
        CheckInput(
            currency=(deal.currency or meta.organisation.base_currency).upper(),
            tax_mode=mode,
            tax_code=None,
            lines=draft_lines,
            totals=totals,
            contact_id=customer.contact.id if customer.contact else None,
            creating_contact=customer.contact is None and bool(customer.to),
            contact_name=customer.contact.name if customer.contact else customer.to,
            contact_currency=customer.contact.currency if customer.contact else None,
        ),
    )
    # The unmapped tax rate was already named with its percentage; drop the generic duplicate.
    named = {c.field for c in checks if c.code == "tax_unmapped"}
    checks = [c for c in checks if not (c.code == "tax_missing" and c.field in named)]
    if not enabled:
        checks = [c for c in checks if c.code != "no_lines"]
        checks.append(
            Check(
                code="no_products",
                severity="warning",
                field="lines",
                message="This deal has no products: add the invoice lines by hand.",
            )
        )
    return DraftOut(
        provider=provider,
        deal_id=deal.id,
        customer=customer,
        details=DetailsOut(
            issue_date=prefill.invoice_date,
            due_date=prefill.due_date,
            currency=(deal.currency or meta.organisation.base_currency).upper(),
            tax_mode=mode,
            tax_code=default_code,
            template_id=template_id_for(meta, prefs.defaults.template),
            reference=prefill.reference,
            deal_url=deal_url(api_domain, deal.id),
            deal_title=deal.title,
        ),
        lines=draft_lines,
        global_discount=discount,
        totals=totals,
        checks=checks,
        features=meta.features.to_link_features(),
        deal_token=deal_token(ctx, deal.id, deal_url(api_domain, deal.id)),
    )


def template_id_for(meta: ProviderMeta, template: str | None) -> str | None:
    """The preferred template's id (the preference may hold its id or its name), else the
    provider's default; None where the provider has no templates."""
    if not meta.features.templates or not meta.templates:
        return None
    wanted = (template or "").casefold()
    for candidate in meta.templates:
        if wanted and wanted in (candidate.id.casefold(), candidate.name.casefold()):
            return candidate.id
    default = next((t for t in meta.templates if t.is_default), None)
    return default.id if default else None


def candidates(crm: Product | None, items: Sequence[Item]) -> list[Item]:
    """Every active item with the product's code, else with its exact name."""
    if crm is None:
        return []
    active = [i for i in items if i.is_active]
    by_code = [i for i in active if crm.code and (i.code or "").casefold() == crm.code.casefold()]
    return by_code or [i for i in active if i.name.casefold() == crm.name.casefold()]


def choice_suggestions(crm: Product | None, items: Sequence[Item]) -> list[Item]:
    """Suggested items for a product, in order: a unique code (SKU) match, else a unique
    exact (case-insensitive) name match. Nothing fuzzier."""
    if crm is None:
        return []
    active = [i for i in items if i.is_active]
    if crm.code:
        by_code = [i for i in active if (i.code or "").casefold() == crm.code.casefold()]
        if len(by_code) == 1:
            return by_code
    by_name = [i for i in active if i.name.casefold() == crm.name.casefold()]
    return by_name if len(by_name) == 1 else []


def item_choice(
    product_id: int | None,
    crm: Product | None,
    links: dict[int, ItemLink],
    items: Sequence[Item],
    meta: ProviderMeta,
) -> ItemChoice | None:
    """The remembered item, else the one suggestion."""
    if product_id and product_id in links:
        link = links[product_id]
        return ItemChoice(link.item_id, link.item_code, link.item_name, "linked")
    found = choice_suggestions(crm, items)
    if found:
        return ItemChoice(found[0].id, found[0].code, found[0].name, "suggested")
    return None


# --- listing ------------------------------------------------------------------------------------


async def approvers(session: AsyncSession, company_id: str) -> dict[str, bool]:
    """Per provider, whether the company's live connection may approve invoices: the role of
    the person who connected it (Xero OrganisationRole; QuickBooks has no approval)."""
    rows = (
        await session.execute(
            select(ProviderConnection.provider, ProviderConnection.provider_role).where(
                ProviderConnection.company_id == company_id,
                ProviderConnection.status != ConnectionStatus.disconnected.value,
            )
        )
    ).all()
    return {provider: role_can_approve(role) for provider, role in rows}


def invoice_out(row: DealInvoice, today: date, *, can_approve: bool) -> InvoiceOut:
    """Our row as the API shape; ``can_approve`` (the connection's role may approve) decides
    whether "approve" is among the actions offered."""
    currency = row.currency or "USD"
    out = InvoiceOut(
        id=row.id,
        provider=row.provider,
        deal_id=row.deal_id,
        status=row.status,
        provider_invoice_id=row.provider_invoice_id,
        number=row.number,
        contact_id=row.contact_id,
        contact_name=row.contact_name,
        provider_status=row.provider_status,
        currency=currency,
        issue_date=row.issue_date,
        due_date=row.due_date,
        subtotal=from_minor(row.subtotal_minor, currency),
        tax=from_minor(row.tax_minor, currency),
        total=from_minor(row.total_minor, currency),
        amount_due=from_minor(row.amount_due_minor, currency),
        amount_paid=from_minor(row.amount_paid_minor, currency),
        url=row.url,
        failure_reason=row.failure_reason,
        orphan_contact_id=row.orphan_contact_id,
    )
    if row.status == InvoiceStatus.created and row.provider_invoice_id and row.provider_status:
        view = invoice_view(
            row.provider,
            Invoice(
                id=row.provider_invoice_id,
                number=row.number,
                status=row.provider_status,
                currency=currency,
                due_date=row.due_date,
                total=out.total,
                amount_due=out.amount_due,
                amount_paid=out.amount_paid,
                has_payments=row.amount_paid_minor > 0,
            ),
            today=today,
            can_approve=can_approve,
        )
        out.status_label = view.status_label
        out.actions = [a.model_dump(mode="json") for a in view.actions]
    return out


async def list_invoices(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, provider: str | None = None
) -> list[InvoiceOut]:
    """The deal's invoices (created ones, and failed attempts that left something to see)."""
    if provider:
        check_provider(provider)
    client, _ = await ctx.pipedrive(session)
    await read_deal(client, deal_id)
    rows = await InvoiceRepository(session, ctx.company_id).of_deal(deal_id, provider)
    today = datetime.now(UTC).date()
    allowed = await approvers(session, ctx.company_id)
    return [
        invoice_out(r, today, can_approve=allowed.get(r.provider, False))
        for r in rows
        if r.status == InvoiceStatus.created
        or r.orphan_contact_id
        or r.status == InvoiceStatus.unknown
    ]


async def create_invoice(
    ctx: InvoiceContext,
    session: AsyncSession,
    deal_id: int | None,
    body: InvoiceIn,
    idempotency_key: str | None,
) -> tuple[InvoiceOut, bool]:
    """Create the reviewed invoice as a DRAFT at the provider, exactly once per key; returns
    the invoice and whether this call created it. ``deal_id`` None: an invoice of no deal
    (Pipedrive's Invoicing extension). The steps are in app.invoices.creation."""
    from app.invoices.creation import create_invoice as run

    return await run(ctx, session, deal_id, body, idempotency_key)


async def preview_invoice(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, body: InvoiceIn
) -> PreviewOut:
    """Live totals and checks of the dialog's current invoice, without creating anything or
    calling the provider (its metadata is cached)."""
    from app.invoices.creation import preview

    return await preview(ctx, session, deal_id, body)


def reviewed(draft: DraftOut, **over: Any) -> InvoiceIn:
    """The draft as the dialog would send it back unchanged (its chosen or suggested contact,
    else a new contact from the CRM's customer fields); ``over`` replaces top-level fields."""
    customer = draft.customer
    values: dict[str, Any] = {
        "provider": draft.provider,
        "customer": CustomerIn(
            contact_id=customer.contact.id if customer.contact else None,
            create=customer.contact is None and bool(customer.to),
            name=None if customer.contact else customer.to,
            email=customer.email,
            address=customer.address,
            tax_id=customer.tax_id,
            update_contact=customer.update_contact,
            crm_entity=customer.crm_entity,
            crm_id=customer.crm_id,
            contact_currency=customer.contact.currency if customer.contact else None,
        ),
        "issue_date": draft.details.issue_date,
        "due_date": draft.details.due_date,
        "currency": draft.details.currency,
        "tax_mode": draft.details.tax_mode,
        "tax_code": draft.details.tax_code,
        "template_id": draft.details.template_id,
        "reference": draft.details.reference,
        "lines": [
            LineIn(**line.model_dump(include=set(LineIn.model_fields))) for line in draft.lines
        ],
        "global_discount": draft.global_discount,
        "deal_token": draft.deal_token,
    }
    values.update(over)
    return InvoiceIn(**values)


__all__ = [
    "ContactLinkRepository",
    "InvoiceContext",
    "InvoiceRepository",
    "ItemLinkRepository",
    "_crm_entity",
    "_crm_product",
    "_provider_contact",
    "_provider_item",
    "act_on_invoice",
    "address_text",
    "build_draft",
    "check_entity",
    "check_provider",
    "company_today",
    "contact_changes",
    "contact_data",
    "contact_diff",
    "contact_input",
    "contact_out",
    "context",
    "create_contact",
    "create_invoice",
    "create_item",
    "deal_url",
    "default_account",
    "ensure_deal",
    "invoice_out",
    "invoice_pdf",
    "invoice_share_url",
    "item_out",
    "link_contact",
    "link_item",
    "list_invoices",
    "one_click_key",
    "preview_invoice",
    "remember_contact",
    "remember_item",
    "reviewed",
    "search_contacts",
    "search_items",
    "unlink_contact",
    "unlink_item",
]
