"""Invoicing use cases, shared by our JSON API, the deal page and Pipedrive's Invoicing extension.

Every flow takes an ``InvoiceContext`` (who acts; app state) and plain inputs, and returns the
API shapes of ``app.invoices.schemas``:

* ``build_draft(ctx, session, deal_id, provider)`` → ``DraftOut``: the proposed invoice
  (``draft``); ``reviewed(draft)`` → the ``InvoiceIn`` the dialog sends back unchanged.
* ``preview_invoice`` / ``review_invoice``: live totals and checks, nothing created (``review``).
* ``create_invoice(ctx, session, deal_id, body, idempotency_key)`` → ``(InvoiceOut, created)``:
  exactly once per key (``creation``).
* ``list_invoices(ctx, session, deal_id)`` → ``list[InvoiceOut]`` (``listing``).
* ``act_on_invoice``, ``invoice_pdf``, ``invoice_share_url``: acting on an invoice at the
  provider (``actions``; the panel and the extension share them).
* ``credit_deal_invoice(ctx, session, deal_id, row_id, body, key)`` → ``(CreditOut, row,
  made)``: a credit note on an approved or paid invoice, exactly once per key (``credit``).
* ``apply_invoice(row, invoice)``: the one way a provider's invoice updates our row (``apply``).
* ``search_items`` / ``search_contacts``, ``link_item`` / ``unlink_item``,
  ``link_contact`` / ``unlink_contact``, ``create_item`` / ``create_contact``,
  ``contact_changes`` (and apply them) (``linking``).

Surfaces also get ``context(request, user)``, which builds the ``InvoiceContext``, and
``company_today(meta)``. Routes stay thin: they build the context, call one flow, and return
its result.
"""

from __future__ import annotations

from app.invoices.context import context
from app.invoices.flows.actions import act as act_on_invoice
from app.invoices.flows.actions import act_on_deal_invoice, deal_invoice, invoice_pdf
from app.invoices.flows.actions import share_url as invoice_share_url
from app.invoices.flows.apply import apply_invoice
from app.invoices.flows.creation import create_invoice
from app.invoices.flows.credit import credit_deal_invoice, credit_options, credits_of
from app.invoices.flows.draft import build_draft
from app.invoices.flows.linking import (
    contact_changes,
    create_contact,
    create_item,
    link_contact,
    link_item,
    search_contacts,
    search_items,
    unlink_contact,
    unlink_item,
)
from app.invoices.flows.listing import invoice_out, list_invoices, one_invoice_out
from app.invoices.flows.review import preview_invoice, review_invoice, reviewed
from app.invoices.rules.dates import company_today

__all__ = [
    "act_on_deal_invoice",
    "act_on_invoice",
    "apply_invoice",
    "build_draft",
    "company_today",
    "contact_changes",
    "context",
    "create_contact",
    "create_invoice",
    "create_item",
    "credit_deal_invoice",
    "credit_options",
    "credits_of",
    "deal_invoice",
    "invoice_out",
    "invoice_pdf",
    "invoice_share_url",
    "link_contact",
    "link_item",
    "list_invoices",
    "one_invoice_out",
    "preview_invoice",
    "review_invoice",
    "reviewed",
    "search_contacts",
    "search_items",
    "unlink_contact",
    "unlink_item",
]
