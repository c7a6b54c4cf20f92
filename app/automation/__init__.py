"""Invoices that make themselves: invoice rules fired by Pipedrive deal changes, and overdue
follow-up activities in Pipedrive (docs/automation.md)."""
