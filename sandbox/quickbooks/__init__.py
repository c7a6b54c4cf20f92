"""QuickBooks Online stand-in: OAuth (Intuit), Accounting API v3, webhooks, pages.

Written from ../shared/reference/quickbooks.md only; it shares no code with app/providers/.
"""
