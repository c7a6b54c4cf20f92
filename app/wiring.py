"""Connecting the packages that must not import each other: job handlers and event processors.

Importing a ``tasks`` module registers its job handlers (``@job``); ``register_jobs`` adds the
periodic jobs and tells the inbox which domain function processes which kind of event. The app
and ``invoicing worker`` both call it, so every process knows the same jobs.
"""

from __future__ import annotations

import app.crm.pipedrive.tasks
import app.webhooks.tasks
import app.worker.housekeeping  # noqa: F401  (registers worker.forget_done)
from app.automation import tasks as automation_tasks
from app.config import Settings
from app.invoices import tasks as invoice_tasks
from app.webhooks.tasks import register_processor
from app.worker.schedule import every

# How often the scheduler looks for connections due a catch-up (each is caught up once per
# CATCH_UP_MINUTES; this only bounds how late after that it starts).
CATCH_UP_CHECK_SECONDS = 60.0
RECURRING_CHECK_SECONDS = 60.0


def register_jobs(settings: Settings) -> None:
    """Idempotent: registering twice replaces the same entries."""
    register_processor("xero", ["INVOICE"], invoice_tasks.process_provider_events)
    register_processor("quickbooks", ["Invoice", "Payment"], invoice_tasks.process_provider_events)
    register_processor("pipedrive", ["deal"], automation_tasks.process_deal_events)
    every(automation_tasks.CATCH_UP_DUE, settings.automation_catch_up_seconds)
    every(automation_tasks.OVERDUE_DUE, settings.automation_overdue_seconds)
    every(invoice_tasks.CATCH_UP_DUE, CATCH_UP_CHECK_SECONDS)
    # Recurring schedules: periods are dated by the day, so a check a minute is plenty.
    every(invoice_tasks.RECURRING_DUE, RECURRING_CHECK_SECONDS)
    # With a 30 s lease and a 10 s check, every intent of a crashed process is resolved
    # within a minute of its restart.
    every(invoice_tasks.RESOLVE_DUE, settings.intent_check_seconds)
