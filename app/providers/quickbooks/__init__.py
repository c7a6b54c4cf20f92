"""QuickBooks Online Accounting API v3 adapter (written from ../shared/reference/quickbooks.md)."""

from app.providers.quickbooks.client import QuickBooksProvider

__all__ = ["QuickBooksProvider"]
