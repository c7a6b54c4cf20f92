"""The Xero adapter: ``AccountingProvider`` over the Accounting API 2.0 (xero.md).

Invoices here; the plumbing, lookups, contacts and items in ``api.XeroApi``.
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
    ProviderConflict,
    ProviderUnsupported,
    ProviderValidationError,
)
from app.providers.markers import find_marked
from app.providers.xero import credits, mapping, repeating
from app.providers.xero.api import XeroApi, checked_key, first_element, page_info, xero_date
from app.providers.xero.errors import STATE_MESSAGES
from app.providers.xero.spec import (
    IDS_PER_CALL,
    PAGE_SIZE,
    PROVIDER,
    role_can_approve,
)

# Safety net for changed_invoices: 50 pages of 100 is far beyond a normal sync window.
_MAX_CHANGE_PAGES = 50


class XeroProvider(XeroApi):
    """Xero implementation of ``AccountingProvider``."""

    name = ProviderName.xero
    display_name = "Xero"
    # If-Modified-Since reaches back as far as asked.
    changes_look_back: timedelta | None = None
    tenant_refusal_needs_reauth = True

    # --- invoices -----------------------------------------------------------------------------

    async def create_invoice(
        self, creds: Credentials, draft: InvoiceDraft, *, idempotency_key: str
    ) -> Invoice:
        if draft.global_discount is not None:
            raise ProviderValidationError(
                [
                    FieldMessage(
                        "Xero has no invoice-level discount; discount the lines instead.",
                        "global_discount",
                    )
                ],
                provider=PROVIDER,
            )
        if draft.status == "AUTHORISED" and draft.due_date is None:
            raise ProviderValidationError(
                [FieldMessage("An approved Xero invoice needs a due date.", "due_date")],
                provider=PROVIDER,
            )
        element = await self._write_one(
            creds,
            "PUT",
            "/Invoices",
            "Invoices",
            mapping.invoice_to_json(draft),
            idempotency_key=checked_key(idempotency_key),
            params={"unitdp": 4},
        )
        return mapping.invoice_from_json(element)

    async def get_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        data = await self._json(creds, "GET", f"/Invoices/{invoice_id}", params={"unitdp": 4})
        return mapping.invoice_from_json(first_element(data, "Invoices", "invoice", invoice_id))

    async def get_invoices(self, creds: Credentials, ids: Sequence[str]) -> list[Invoice]:
        out: list[Invoice] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IDS_PER_CALL):
            chunk = unique[start : start + IDS_PER_CALL]
            # ``page`` makes Xero include line items (xero.md §10.6); one page holds 100.
            data = await self._json(
                creds,
                "GET",
                "/Invoices",
                params={"IDs": ",".join(chunk), "page": 1, "unitdp": 4, "includeArchived": "true"},
            )
            out.extend(mapping.invoice_from_json(i) for i in data.get("Invoices") or [])
        return out

    async def search_invoices(
        self,
        creds: Credentials,
        *,
        contact_id: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        page: int = 1,
        page_size: int = PAGE_SIZE,
    ) -> Page[Invoice]:
        clauses = ['Type=="ACCREC"']
        if date_from:
            clauses.append(f"Date>={xero_date(date_from)}")
        if date_to:
            clauses.append(f"Date<={xero_date(date_to)}")
        params: dict[str, Any] = {
            "where": "&&".join(clauses),
            "order": "Date DESC",
            "page": page,
            "pageSize": page_size,
            "unitdp": 4,
        }
        if contact_id:
            params["ContactIDs"] = contact_id
        data = await self._json(creds, "GET", "/Invoices", params=params)
        items = [mapping.invoice_from_json(i) for i in data.get("Invoices") or []]
        return Page[Invoice](items=items, **page_info(data, page, page_size, len(items)))

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
        checked_at = datetime.now(UTC)
        # RFC 3339 with its offset, as the spec's date-time format and example require.
        header = since.astimezone(UTC).isoformat(timespec="seconds")
        invoices: list[Invoice] = []
        for page in range(1, _MAX_CHANGE_PAGES + 1):
            data = await self._json(
                creds,
                "GET",
                "/Invoices",
                params={"page": page, "unitdp": 4, "where": 'Type=="ACCREC"'},
                extra_headers={"If-Modified-Since": header},
            )
            batch = data.get("Invoices") or []
            invoices.extend(mapping.invoice_from_json(i) for i in batch)
            page_count = (data.get("pagination") or {}).get("pageCount")
            # A full page may be the last: the pagination block says so, which spares a call
            # for an empty page when the changes are an exact multiple of 100.
            if len(batch) < PAGE_SIZE or (page_count is not None and page >= int(page_count)):
                break
        return ChangeSet(
            invoices=tuple(i for i in invoices if i.status != "DELETED"),
            deleted_ids=tuple(i.id for i in invoices if i.status == "DELETED"),
            checked_at=checked_at,
        )

    async def _set_status(self, creds: Credentials, invoice_id: str, status: str) -> Invoice:
        try:
            element = await self._write_one(
                creds,
                "POST",
                f"/Invoices/{invoice_id}",
                "Invoices",
                {"InvoiceID": invoice_id, "Status": status},
                idempotency_key=str(uuid.uuid4()),
                params={"unitdp": 4},
            )
        except ProviderValidationError as exc:
            if any(m in exc.message.lower() for m in STATE_MESSAGES):
                raise ProviderConflict(exc.message, provider=PROVIDER, field="status") from exc
            raise
        return mapping.invoice_from_json(element)

    async def submit_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        return await self._set_status(creds, invoice_id, "SUBMITTED")

    async def approve_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        return await self._set_status(creds, invoice_id, "AUTHORISED")

    async def void_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        return await self._set_status(creds, invoice_id, "VOIDED")

    async def delete_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        return await self._set_status(creds, invoice_id, "DELETED")

    async def email_invoice(
        self,
        creds: Credentials,
        invoice_id: str,
        *,
        to: str | None = None,
        idempotency_key: str | None = None,
    ) -> Invoice:
        if to:
            raise ProviderUnsupported(
                "Xero emails the invoice to the contact's own address; change the contact's "
                "email to send elsewhere.",
                provider=PROVIDER,
                field="to",
            )
        await self._call(
            creds,
            "POST",
            f"/Invoices/{invoice_id}/Email",
            body={},
            idempotency_key=checked_key(idempotency_key) if idempotency_key else str(uuid.uuid4()),
        )
        return await self.get_invoice(creds, invoice_id)

    # --- credit notes -------------------------------------------------------------------------

    async def create_credit_note(
        self, creds: Credentials, draft: CreditNoteDraft, *, idempotency_key: str
    ) -> CreditNote:
        element = await self._write_one(
            creds,
            "PUT",
            "/CreditNotes",
            "CreditNotes",
            credits.credit_note_to_json(draft),
            idempotency_key=checked_key(idempotency_key),
            params={"unitdp": 4},
        )
        return credits.credit_note_from_json(element)

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
        await self._write_one(
            creds,
            "PUT",
            f"/CreditNotes/{credit_note.id}/Allocations",
            "Allocations",
            credits.allocation_to_json(invoice_id, amount, on),
            idempotency_key=checked_key(idempotency_key),
        )

    # --- repeating invoices --------------------------------------------------------------------

    async def create_repeating_invoice(
        self, creds: Credentials, draft: RepeatingInvoiceDraft, *, idempotency_key: str
    ) -> RepeatingInvoice:
        element = await self._write_one(
            creds,
            "PUT",
            "/RepeatingInvoices",
            "RepeatingInvoices",
            repeating.repeating_to_json(draft),
            idempotency_key=checked_key(idempotency_key),
        )
        return repeating.repeating_from_json(element)

    async def get_repeating_invoice(self, creds: Credentials, ident: str) -> RepeatingInvoice:
        data = await self._json(creds, "GET", f"/RepeatingInvoices/{ident}")
        found = first_element(data, "RepeatingInvoices", "repeating invoice", ident)
        return repeating.repeating_from_json(found)

    async def delete_repeating_invoice(self, creds: Credentials, ident: str) -> RepeatingInvoice:
        element = await self._write_one(
            creds,
            "POST",
            f"/RepeatingInvoices/{ident}",
            "RepeatingInvoices",
            {"Status": "DELETED"},
            idempotency_key=str(uuid.uuid4()),
        )
        return repeating.repeating_from_json(element)

    async def invoice_pdf(self, creds: Credentials, invoice_id: str) -> bytes:
        response = await self._call(
            creds, "GET", f"/Invoices/{invoice_id}", accept="application/pdf"
        )
        return response.content

    async def share_url(self, creds: Credentials, invoice_id: str) -> str | None:
        try:
            data = await self._json(creds, "GET", f"/Invoices/{invoice_id}/OnlineInvoice")
        except ProviderValidationError:
            # Drafts have no online invoice (xero.md §10.1).
            return None
        links = data.get("OnlineInvoices") or []
        url = links[0].get("OnlineInvoiceUrl") if links else None
        return str(url) if url else None

    def invoice_url(self, organisation: Organisation, invoice_id: str) -> str:
        # The official deep-link example does not URL-encode shortcode or redirecturl.
        return (
            f"{self.settings.go_url}/organisationlogin/default.aspx?shortcode="
            f"{organisation.short_code or ''}&redirecturl=/AccountsReceivable/View.aspx"
            f"?InvoiceID={invoice_id}"
        )

    def can_approve(self, role: str | None) -> bool:
        return role_can_approve(role)
