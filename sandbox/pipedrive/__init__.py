"""The Pipedrive stand-in: Marketplace OAuth, the API v1/v2 subset we use, field definitions,
token-cost rate limits, v2 webhooks, the uninstall callback, the Invoicing extension
registration, and deal pages that host our panel in an iframe.

Written from ../shared/reference/pipedrive.md and pipedrive-invoicing-extension.md only.
"""
