"""The proposed invoice for a deal (``build_draft``).

The draft is built in named steps: the first round of reads (the deal, its products and
discounts, provider metadata, field definitions), the remembered links, the second round
(organization, person, product codes, the linked contact, the provider's items), then the
customer, the tax mode, the lines, the deal discount, totals and checks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.clock import company_timezone
from app.crm.pipedrive.client import PipedriveClient
from app.crm.pipedrive.errors import PipedriveNotFound
from app.crm.pipedrive.schemas import Deal, DealData, DealDiscount, DealProduct
from app.errors import NotFound
from app.invoices.context import InvoiceContext, read_live_connection
from app.invoices.flows.customer import draft_customer
from app.invoices.flows.deal import deal_token, deal_url, read_deal
from app.invoices.flows.linking import check_provider
from app.invoices.models import ContactLink, ItemLink
from app.invoices.repository import ContactLinkRepository, ItemLinkRepository
from app.invoices.rules.checks import CheckInput, run_checks
from app.invoices.rules.contacts import item_out
from app.invoices.rules.dates import company_today, contact_terms
from app.invoices.rules.items import candidates, item_choice, template_id_for
from app.invoices.rules.lines import (
    discount_lines,
    global_discount_for,
    product_line,
    tax_code_for,
    tax_mode_for,
)
from app.invoices.rules.meta import ProviderMeta, features_json
from app.invoices.rules.schedule import recurring_checks
from app.invoices.rules.totals import compute_totals
from app.invoices.schemas import (
    Check,
    CustomerOut,
    DetailsOut,
    DiscountIn,
    DraftLine,
    DraftOut,
    TotalsOut,
)
from app.preferences.service import invoice_prefill, load_preferences
from app.providers.base import Contact, Item, ProviderNotFound, TaxMode


@dataclass
class DealReads:
    """The first round: the deal, its enabled products and discounts, provider metadata and
    the CRM's field definitions."""

    deal: Deal
    products: list[DealProduct]
    discounts: list[DealDiscount]
    meta: ProviderMeta
    definitions: Any

    @property
    def enabled(self) -> list[DealProduct]:
        return [p for p in self.products if p.is_enabled]

    @property
    def product_ids(self) -> list[int]:
        return [p.product_id for p in self.enabled if p.product_id]


@dataclass
class Related:
    """The second round: what the deal points at, and the remembered links."""

    data: DealData
    item_links: dict[int, ItemLink]
    link: ContactLink | None
    linked_contact: Contact | None
    items: list[Item]


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
    # In this session, before the concurrent round: read there, the row would take a second
    # pooled connection while this request holds one (the pool ran dry that way for creates).
    await read_live_connection(ctx, session, provider)
    reads = await first_round(ctx, client, deal_id, provider)
    related = await second_round(ctx, session, client, provider, reads)
    meta, deal = reads.meta, reads.deal
    # One timezone per company (app.tenants.clock), whichever provider: same dates in both.
    zone = await company_timezone(session, ctx.company_id)
    prefill = invoice_prefill(
        provider,
        prefs,
        related.data,
        reads.definitions,
        company_today(meta, timezone=zone),
        contact_terms(related.linked_contact.payment_terms) if related.linked_contact else None,
    )
    customer, checks = await draft_customer(
        ctx, provider, meta, prefill, prefs, related.data, related.link, related.linked_contact
    )
    mode, strip_inclusive, mode_checks = draft_tax_mode(meta, reads.enabled, prefs)
    checks += mode_checks
    lines, line_checks = draft_lines(meta, reads, related, mode, strip_inclusive, prefs)
    checks += line_checks
    discount = deal_discount(meta, related.data, lines, mode)
    default_code = prefs.defaults.tax_rate
    totals, amounts = compute_totals(meta, lines, mode, discount, default_code)
    for line, amount in zip(lines, amounts, strict=True):
        line.amount = amount
    currency = (deal.currency or meta.organisation.base_currency).upper()
    checks = final_checks(meta, reads, customer, lines, totals, mode, currency, checks, discount)
    checks += recurring_checks(reads.products, deal.expected_close_date)
    url = deal_url(api_domain, deal.id)
    return DraftOut(
        provider=provider,
        deal_id=deal.id,
        customer=customer,
        details=DetailsOut(
            issue_date=prefill.invoice_date,
            due_date=prefill.due_date,
            currency=currency,
            tax_mode=mode,
            tax_code=default_code,
            template_id=template_id_for(meta, prefs.defaults.template),
            reference=prefill.reference,
            deal_url=url,
            deal_title=deal.title,
            timezone=zone,
        ),
        lines=lines,
        global_discount=discount,
        totals=totals,
        checks=checks,
        features=features_json(meta.features),
        deal_token=deal_token(ctx, deal.id, url),
    )


def deal_discount(
    meta: ProviderMeta, data: DealData, lines: list[DraftLine], mode: TaxMode
) -> DiscountIn | None:
    """The deal's discounts as the invoice's discount where the provider has one, else as
    negative lines added to ``lines``."""
    if meta.features.global_discount:
        return global_discount_for(data, lines, mode)
    lines.extend(discount_lines(meta, data, lines, mode))
    return None


async def first_round(
    ctx: InvoiceContext, client: PipedriveClient, deal_id: int, provider: str
) -> DealReads:
    """One concurrent round; every answer is awaited before any failure is raised, so the
    deal's own answer decides: a missing, foreign or deleted deal is named as such, never as
    whichever of its products or discounts happened to fail first."""
    deal, lines, discounts, meta, definitions = await asyncio.gather(
        read_deal(client, deal_id),
        client.deal_products(deal_id),
        client.deal_discounts(deal_id),
        ctx.meta_cache.get(ctx, provider),
        ctx.fields.get(ctx.company_id, client),
        return_exceptions=True,
    )
    # The deal's own answer first: another company's deal is a 404, even when unconnected.
    if isinstance(deal, BaseException):
        raise deal
    for read in (lines, discounts):
        if isinstance(read, PipedriveNotFound):
            # The deal was there a moment ago: it went between the reads.
            raise NotFound(f"Deal {deal_id} was not found in Pipedrive.", field="deal_id")
    for result in (lines, discounts, meta, definitions):
        if isinstance(result, BaseException):
            raise result
    return DealReads(deal, lines, discounts, meta, definitions)  # type: ignore[arg-type]


async def _optional(call: Any) -> Any:
    try:
        return await call
    except (PipedriveNotFound, ProviderNotFound):
        return None


async def _nothing() -> None:
    return None


async def second_round(
    ctx: InvoiceContext,
    session: AsyncSession,
    client: PipedriveClient,
    provider: str,
    reads: DealReads,
) -> Related:
    """The remembered links, then one concurrent round: organization, person, product codes,
    the linked contact, and the provider's items when a product is not linked yet."""
    deal, product_ids = reads.deal, reads.product_ids
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
    adapter = ctx.adapter(provider)
    org, person, catalog, linked_contact, all_items = await asyncio.gather(
        _optional(client.organization(deal.org_id)) if deal.org_id else _nothing(),
        _optional(client.person(deal.person_id)) if deal.person_id else _nothing(),
        client.products(product_ids) if product_ids else asyncio.sleep(0, result={}),
        _optional(ctx.call(provider, lambda c: adapter.get_contact(c, link.contact_id)))
        if link
        else _nothing(),
        ctx.call(provider, lambda c: adapter.search_items(c)) if unlinked else _nothing(),
    )
    data = DealData(
        deal=deal,
        products=reads.products,
        discounts=reads.discounts,
        organization=org,
        person=person,
        catalog=catalog or {},
    )
    return Related(data, item_links, link, linked_contact, all_items or [])


def draft_tax_mode(
    meta: ProviderMeta, enabled: list[DealProduct], prefs: Any
) -> tuple[TaxMode, bool, list[Check]]:
    """The invoice's tax mode, whether inclusive prices must be converted, and warnings."""
    checks: list[Check] = []
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
    return mode, strip_inclusive, checks


def draft_lines(
    meta: ProviderMeta,
    reads: DealReads,
    related: Related,
    mode: TaxMode,
    strip_inclusive: bool,
    prefs: Any,
) -> tuple[list[DraftLine], list[Check]]:
    """Each enabled product as a provider line with its item and tax code, and what is wrong
    with it (a deleted product, a tax % the provider has no rate for)."""
    default_code = prefs.defaults.tax_rate
    catalog = related.data.catalog
    lines: list[DraftLine] = []
    checks: list[Check] = []
    for index, product in enumerate(reads.enabled):
        crm = catalog.get(product.product_id or -1)
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
        choice = item_choice(product.product_id, crm, related.item_links, related.items, meta)
        code = tax_code_for(meta, product.tax, mode, default_code)
        line = product_line(
            meta, product, crm.code if crm else None, mode, code, choice, strip_inclusive
        )
        if choice is None and prefs.defaults.revenue_account:
            # A description-only line books to the company's sales account.
            line.account_code = prefs.defaults.revenue_account
        if choice is None:
            # Several items share the code or name: offer them, choose none.
            line.item_suggestions = [item_out(i) for i in candidates(crm, related.items)]
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
        lines.append(line)
    return lines, checks


def final_checks(
    meta: ProviderMeta,
    reads: DealReads,
    customer: CustomerOut,
    lines: list[DraftLine],
    totals: TotalsOut,
    mode: TaxMode,
    currency: str,
    checks: list[Check],
    discount: DiscountIn | None = None,
) -> list[Check]:
    """The draft's findings so far plus the checks before sending, without duplicates."""
    checks = checks + run_checks(
        meta,
        CheckInput(
            currency=currency,
            tax_mode=mode,
            tax_code=None,
            lines=lines,
            totals=totals,
            contact_id=customer.contact.id if customer.contact else None,
            creating_contact=customer.contact is None and bool(customer.to),
            contact_name=customer.contact.name if customer.contact else customer.to,
            contact_currency=customer.contact.currency if customer.contact else None,
            discount=discount,
        ),
    )
    # The unmapped tax rate was already named with its percentage; drop the generic duplicate.
    named = {c.field for c in checks if c.code == "tax_unmapped"}
    checks = [c for c in checks if not (c.code == "tax_missing" and c.field in named)]
    if not reads.enabled:
        checks = [c for c in checks if c.code != "no_lines"]
        checks.append(
            Check(
                code="no_products",
                severity="warning",
                field="lines",
                message="This deal has no products: add the invoice lines by hand.",
            )
        )
    return checks
