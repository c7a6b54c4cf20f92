"""Company-scoped access to invoices and remembered links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from app.invoices.models import (
    ContactLink,
    CreditNoteRow,
    DealInvoice,
    DealInvoiceLink,
    InvoiceStatus,
    ItemLink,
)
from app.tenants.repository import CompanyScopedRepository


class InvoiceRepository(CompanyScopedRepository[DealInvoice]):
    model = DealInvoice
    not_found_message = "invoice not found"

    async def by_key(self, key: str) -> DealInvoice | None:
        result = await self.session.execute(self.select().where(DealInvoice.idempotency_key == key))
        row: DealInvoice | None = result.scalar_one_or_none()
        return row

    async def of_deal(self, deal_id: int, provider: str | None = None) -> Sequence[DealInvoice]:
        """The invoices the deal lists: those linked to it (created from it, or linked from
        the contact's other invoices), newest first."""
        criteria: list[ColumnElement[bool]] = [DealInvoice.id.in_(self.linked_ids(deal_id))]
        if provider:
            criteria.append(DealInvoice.provider == provider)
        result = await self.session.execute(
            self.select().where(*criteria).order_by(DealInvoice.created_at.desc())
        )
        return result.scalars().all()

    def linked_ids(self, deal_id: int) -> Select[Any]:
        return select(DealInvoiceLink.invoice_id).where(
            DealInvoiceLink.company_id == self.company_id, DealInvoiceLink.deal_id == deal_id
        )

    async def is_linked(self, row_id: str, deal_id: int) -> bool:
        found = await self.session.scalar(
            select(DealInvoiceLink.id).where(
                DealInvoiceLink.company_id == self.company_id,
                DealInvoiceLink.invoice_id == row_id,
                DealInvoiceLink.deal_id == deal_id,
            )
        )
        return found is not None

    async def known_provider_ids(self, provider: str, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        result = await self.session.execute(
            self.select().where(
                DealInvoice.provider == provider, DealInvoice.provider_invoice_id.in_(list(ids))
            )
        )
        return {r.provider_invoice_id for r in result.scalars().all() if r.provider_invoice_id}

    async def created_with_provider_id(self, provider: str, invoice_id: str) -> DealInvoice | None:
        """Our created invoice that is the provider's ``invoice_id``, if it is one of ours."""
        result = await self.session.execute(
            self.select().where(
                DealInvoice.provider == provider,
                DealInvoice.provider_invoice_id == invoice_id,
                DealInvoice.status == InvoiceStatus.created,
            )
        )
        row: DealInvoice | None = result.scalar_one_or_none()
        return row


class ItemLinkRepository(CompanyScopedRepository[ItemLink]):
    model = ItemLink
    not_found_message = "this product is not linked to an item"

    async def for_products(self, provider: str, product_ids: Sequence[int]) -> dict[int, ItemLink]:
        if not product_ids:
            return {}
        result = await self.session.execute(
            self.select().where(
                ItemLink.provider == provider, ItemLink.crm_product_id.in_(list(product_ids))
            )
        )
        return {r.crm_product_id: r for r in result.scalars().all()}

    async def one(self, provider: str, product_id: int) -> ItemLink | None:
        return (await self.for_products(provider, [product_id])).get(product_id)


class ContactLinkRepository(CompanyScopedRepository[ContactLink]):
    model = ContactLink
    not_found_message = "this organization or person is not linked to a contact"

    async def one(self, provider: str, entity: str, crm_id: int) -> ContactLink | None:
        result = await self.session.execute(
            self.select().where(
                ContactLink.provider == provider,
                ContactLink.crm_entity == entity,
                ContactLink.crm_id == crm_id,
            )
        )
        row: ContactLink | None = result.scalar_one_or_none()
        return row


class CreditRepository(CompanyScopedRepository[CreditNoteRow]):
    model = CreditNoteRow
    not_found_message = "credit note not found"

    async def by_key(self, key: str) -> CreditNoteRow | None:
        result = await self.session.execute(
            self.select().where(CreditNoteRow.idempotency_key == key)
        )
        row: CreditNoteRow | None = result.scalar_one_or_none()
        return row

    async def of_invoices(self, invoice_ids: Sequence[str]) -> Sequence[CreditNoteRow]:
        """The credit notes on our invoices ``invoice_ids``, oldest first."""
        if not invoice_ids:
            return []
        result = await self.session.execute(
            self.select()
            .where(CreditNoteRow.deal_invoice_id.in_(list(invoice_ids)))
            .order_by(CreditNoteRow.created_at)
        )
        return result.scalars().all()
