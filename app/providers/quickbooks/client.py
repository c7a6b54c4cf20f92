"""The QuickBooks Online adapter: ``AccountingProvider`` over Accounting API v3.

Invoices here; the plumbing, lookups, customers and items in ``api.QuickBooksApi``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.providers.base import (
    ChangeSet,
    Credentials,
    CreditNote,
    CreditNoteDraft,
    Invoice,
    InvoiceDraft,
    Organisation,
    Page,
    ProviderName,
    RepeatingInvoice,
    RepeatingInvoiceDraft,
)
from app.providers.errors import (
    FieldMessage,
    ProviderUnsupported,
    ProviderValidationError,
)
from app.providers.markers import find_marked
from app.providers.quickbooks import credits, mapping, records
from app.providers.quickbooks.api import QuickBooksApi, entity_of, request_id_for
from app.providers.quickbooks.spec import (
    CDC_MAX_DAYS,
    IDS_PER_QUERY,
    PROVIDER,
)

NO_REPEATING = (
    "QuickBooks recurring transactions post invoices at once and need Essentials or Plus: "
    "this schedule runs on our worker."
)


class QuickBooksProvider(QuickBooksApi):
    """QuickBooks Online implementation of ``AccountingProvider``."""

    name = ProviderName.quickbooks
    display_name = "QuickBooks"
    # CDC answers for the last 30 days only (a margin keeps us inside it).
    changes_look_back: timedelta | None = timedelta(days=CDC_MAX_DAYS) - timedelta(hours=1)
    # A QuickBooks refusal of the company is often a user's permission, not a disconnect.
    tenant_refusal_needs_reauth = False

    # --- invoices -----------------------------------------------------------------------------

    async def create_invoice(
        self, creds: Credentials, draft: InvoiceDraft, *, idempotency_key: str
    ) -> Invoice:
        errors = mapping.draft_errors(draft)
        if errors:
            raise ProviderValidationError(errors, provider=PROVIDER)
        result = await self._json(
            creds,
            "POST",
            "invoice",
            body=mapping.invoice_to_json(draft),
            request_id=request_id_for(idempotency_key),
        )
        return mapping.invoice_from_json(entity_of(result, "Invoice", "new"))

    async def _raw_invoice(self, creds: Credentials, invoice_id: str, **params: Any) -> Any:
        data = await self._json(creds, "GET", f"invoice/{invoice_id}", params=params or None)
        return entity_of(data, "Invoice", invoice_id)

    async def get_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        # include=invoiceLink (minorversion >= 36) brings the share link when there is one.
        row = await self._raw_invoice(creds, invoice_id, include="invoiceLink")
        return mapping.invoice_from_json(row)

    async def get_invoices(self, creds: Credentials, ids: Sequence[str]) -> list[Invoice]:
        out: list[Invoice] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IDS_PER_QUERY):
            chunk = unique[start : start + IDS_PER_QUERY]
            listed = ", ".join(records.quote(i) for i in chunk)
            rows = await self._query(
                creds,
                "Invoice",
                records.select("Invoice", where=[f"Id IN ({listed})"]),
            )
            out.extend(mapping.invoice_from_json(r) for r in rows)
        return out

    async def search_invoices(
        self,
        creds: Credentials,
        *,
        contact_id: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        page: int = 1,
        page_size: int = 100,
    ) -> Page[Invoice]:
        clauses = []
        if contact_id:
            clauses.append(f"CustomerRef = {records.quote(contact_id)}")
        if date_from:
            clauses.append(f"TxnDate >= '{date_from.isoformat()}'")
        if date_to:
            clauses.append(f"TxnDate <= '{date_to.isoformat()}'")
        statement = records.select(
            "Invoice",
            where=clauses,
            order="TxnDate DESC",
            start=(page - 1) * page_size + 1,
            max_results=page_size,
        )
        rows = await self._query(creds, "Invoice", statement)
        items = [mapping.invoice_from_json(r) for r in rows]
        return Page[Invoice](
            items=items, page=page, page_size=page_size, has_more=len(items) >= page_size
        )

    async def find_marked_invoice(
        self, creds: Credentials, *, marker: str, contact_id: str, issue_date: date
    ) -> Invoice | None:
        return await find_marked(
            lambda page: self.search_invoices(
                creds, contact_id=contact_id, date_from=issue_date, date_to=issue_date, page=page
            ),
            marker,
        )

    async def changed_invoices(self, creds: Credentials, since: datetime) -> ChangeSet:
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        now = datetime.now(UTC)
        if now - since > timedelta(days=CDC_MAX_DAYS):
            raise ProviderValidationError(
                [FieldMessage("QuickBooks reports changes of the last 30 days only.", "since")],
                provider=PROVIDER,
            )
        data = await self._json(
            creds,
            "GET",
            "cdc",
            params={"entities": "Invoice", "changedSince": since.isoformat(timespec="seconds")},
        )
        invoices: list[Invoice] = []
        deleted: list[str] = []
        for block in data.get("CDCResponse") or []:
            for response in block.get("QueryResponse") or []:
                for row in response.get("Invoice") or []:
                    if mapping.lifecycle_status(row) == "DELETED":
                        deleted.append(str(row["Id"]))
                    else:
                        invoices.append(mapping.invoice_from_json(row))
        checked = records.parse_datetime(data.get("time")) or now
        return ChangeSet(invoices=tuple(invoices), deleted_ids=tuple(deleted), checked_at=checked)

    # RecurringTransaction posts invoices at once (no drafts) and needs Essentials or Plus:
    # QuickBooks schedules stay on our worker (docs/recurring.md).
    async def create_repeating_invoice(
        self, creds: Credentials, draft: RepeatingInvoiceDraft, *, idempotency_key: str
    ) -> RepeatingInvoice:
        raise ProviderUnsupported(NO_REPEATING, provider=PROVIDER, field="frequency")

    async def get_repeating_invoice(self, creds: Credentials, ident: str) -> RepeatingInvoice:
        raise ProviderUnsupported(NO_REPEATING, provider=PROVIDER, field="frequency")

    async def delete_repeating_invoice(self, creds: Credentials, ident: str) -> RepeatingInvoice:
        raise ProviderUnsupported(NO_REPEATING, provider=PROVIDER, field="frequency")

    async def submit_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        raise ProviderUnsupported(
            "QuickBooks invoices have no approval step.", provider=PROVIDER, field="status"
        )

    async def approve_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        raise ProviderUnsupported(
            "QuickBooks invoices have no approval step.", provider=PROVIDER, field="status"
        )

    async def _operation(self, creds: Credentials, invoice_id: str, operation: str) -> Any:
        async def attempt() -> tuple[Any, Any]:
            row = await self._raw_invoice(creds, invoice_id)
            result = await self._json(
                creds,
                "POST",
                "invoice",
                params={"operation": operation},
                body={"Id": invoice_id, "SyncToken": row.get("SyncToken")},
                request_id=str(uuid.uuid4()),
            )
            return row, result

        return await self._stale_retry(attempt)

    async def void_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        _, result = await self._operation(creds, invoice_id, "void")
        invoice = mapping.invoice_from_json(entity_of(result, "Invoice", invoice_id))
        # The void answer is the zeroed invoice; mark it even if PrivateNote was not prefixed.
        return invoice.model_copy(update={"status": "VOIDED"})

    async def delete_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        before, _ = await self._operation(creds, invoice_id, "delete")
        return mapping.invoice_from_json(before).model_copy(update={"status": "DELETED"})

    async def email_invoice(
        self,
        creds: Credentials,
        invoice_id: str,
        *,
        to: str | None = None,
        idempotency_key: str | None = None,
    ) -> Invoice:
        params = {"sendTo": to} if to else None
        result = await self._json(
            creds,
            "POST",
            f"invoice/{invoice_id}/send",
            params=params,
            request_id=idempotency_key or str(uuid.uuid4()),
            content_type="application/octet-stream",
        )
        return mapping.invoice_from_json(entity_of(result, "Invoice", invoice_id))

    # --- credit memos -------------------------------------------------------------------------

    async def create_credit_note(
        self, creds: Credentials, draft: CreditNoteDraft, *, idempotency_key: str
    ) -> CreditNote:
        result = await self._json(
            creds,
            "POST",
            "creditmemo",
            body=credits.credit_memo_to_json(draft),
            request_id=request_id_for(idempotency_key),
        )
        return credits.credit_memo_from_json(entity_of(result, "CreditMemo", "new"))

    async def apply_credit_note(
        self,
        creds: Credentials,
        credit_note: CreditNote,
        *,
        invoice_id: str,
        contact_id: str,
        amount: Decimal,
        on: date,
        idempotency_key: str,
    ) -> None:
        body = credits.applying_payment(contact_id, invoice_id, credit_note.id, amount)
        body["TxnDate"] = on.isoformat()
        await self._json(
            creds, "POST", "payment", body=body, request_id=request_id_for(idempotency_key)
        )

    async def invoice_pdf(self, creds: Credentials, invoice_id: str) -> bytes:
        response = await self._call(
            creds, "GET", f"invoice/{invoice_id}/pdf", accept="application/pdf"
        )
        return response.content

    async def share_url(self, creds: Credentials, invoice_id: str) -> str | None:
        # InvoiceLink needs online payments on and a BillEmail (quickbooks.md §3.1).
        row = await self._raw_invoice(creds, invoice_id, include="invoiceLink")
        link = row.get("InvoiceLink")
        return str(link) if link else None

    def invoice_url(self, organisation: Organisation, invoice_id: str) -> str:
        return f"{self.settings.app_url}/app/invoice?txnId={invoice_id}"

    def can_approve(self, role: str | None) -> bool:
        # QuickBooks invoices have no approval step.
        return False
