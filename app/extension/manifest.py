"""The manifest uploaded in Pipedrive's Developer Hub (pipedrive-invoicing-extension.md §3).

``ENDPOINTS`` is the single table of the 21 endpoints: name, HTTP method (inferred from the name
prefix, §3.3, UNCONFIRMED) and path under ``PREFIX``. The routes are registered from the same
table, so the manifest and the router cannot disagree.
"""

from __future__ import annotations

from typing import Any

from app.config import Settings

VERSION = "v202101"
PREFIX = "/pipedrive/invoicing"

# name → (method, path). Every path carries :linkId; invoice, contact and product paths carry
# their id placeholder (§3.4).
ENDPOINTS: dict[str, tuple[str, str]] = {
    "getProviderAccount": ("GET", "/links/:linkId"),
    "getProviderAccountConnectUrl": ("GET", "/links/:linkId/auth"),
    "postInvoice": ("POST", "/links/:linkId/invoices"),
    "postInvoiceStatus": ("POST", "/links/:linkId/invoices/:invoiceId/action"),
    "postInvoiceEmail": ("POST", "/links/:linkId/invoices/:invoiceId/email"),
    "getSearchInvoices": ("GET", "/links/:linkId/invoices"),
    "getInvoiceShareUrl": ("GET", "/links/:linkId/invoices/:invoiceId/share"),
    "getInvoicePDF": ("GET", "/links/:linkId/invoices/:invoiceId/download"),
    "getInvoiceSummary": ("GET", "/links/:linkId/report/invoice-summary"),
    "getCurrencies": ("GET", "/links/:linkId/currencies"),
    "getTaxRates": ("GET", "/links/:linkId/tax-rates"),
    "getAccounts": ("GET", "/links/:linkId/invoice-accounts"),
    "getTemplates": ("GET", "/links/:linkId/invoice-templates"),
    "getProduct": ("GET", "/links/:linkId/products/:productId"),
    "postProduct": ("POST", "/links/:linkId/products"),
    "putProduct": ("PUT", "/links/:linkId/products/:productId"),
    "getSearchProducts": ("GET", "/links/:linkId/products"),
    "getContact": ("GET", "/links/:linkId/contacts/:contactId"),
    "postContact": ("POST", "/links/:linkId/contacts"),
    "putContact": ("PUT", "/links/:linkId/contacts/:contactId"),
    "getSearchContacts": ("GET", "/links/:linkId/contacts"),
}


def route_path(name: str) -> str:
    """The FastAPI path of an endpoint (``:name`` → ``{name}``)."""
    _, path = ENDPOINTS[name]
    parts = [f"{{{p[1:]}}}" if p.startswith(":") else p for p in path.split("/")]
    return PREFIX + "/".join(parts)


def manifest(settings: Settings) -> dict[str, Any]:
    """The manifest with absolute URLs from PUBLIC_URL.

    ``features.templates`` is true: one manifest serves every link, and Xero links offer
    branding themes. The manifest makes ``getTemplates`` mandatory then, which we always serve;
    for a QuickBooks link, which has no template API, it answers an empty list.
    """
    base = settings.public_url.rstrip("/") + PREFIX
    return {
        "version": VERSION,
        "clientId": settings.pipedrive.client_id,
        "features": {"templates": True},
        "endpoints": {name: base + path for name, (_, path) in ENDPOINTS.items()},
    }
