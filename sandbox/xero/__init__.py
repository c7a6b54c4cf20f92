"""Xero stand-in: identity, Accounting API subset, webhooks, pages."""
