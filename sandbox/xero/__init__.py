"""The Xero stand-in: identity (OAuth 2.0 with PKCE, OpenID discovery), the connections API,
the Accounting API subset we use behind its gateway (token, tenant, scopes, rate limits,
idempotency), webhooks, pages and PDFs.

Written from ../shared/reference/xero.md and ../shared/specs/xero/ only; it shares no code with
app/providers/.
"""
