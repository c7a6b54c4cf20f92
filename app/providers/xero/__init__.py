"""Xero Accounting API adapter (written from ../shared/reference/xero.md and the OpenAPI)."""

from app.providers.xero.client import XeroProvider

__all__ = ["XeroProvider"]
