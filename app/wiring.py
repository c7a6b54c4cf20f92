"""Connecting the packages that must not import each other: job handlers and event processors.

Importing a ``tasks`` module registers its job handlers (``@job``) and periodic jobs
(``every``); the inbox is told here which domain function processes which kind of event. The
app and ``invoicing worker`` both call ``register_jobs`` so they know the same jobs.
"""

from __future__ import annotations

import app.crm.pipedrive.tasks
import app.webhooks.tasks
import app.worker.housekeeping  # noqa: F401  (registers worker.forget_done)


def register_jobs() -> None:
    """Everything is registered by the imports above; kept as the one call sites make."""
