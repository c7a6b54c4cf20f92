"""Pipedrive's Invoicing app extension: the reverse API Pipedrive calls.

See docs/pipedrive-invoicing.md.
"""
