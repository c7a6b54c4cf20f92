"""The adapters' repeating-invoice data (a schedule held at the provider, issue 16 item 3):
a template invoice and how often it repeats, and the schedule as the provider keeps it.
Import them from ``app.providers.base``."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.providers.dto import InvoiceDraft


class RepeatingInvoiceDraft(BaseModel):
    """A repeating invoice to create: ``invoice`` is the template (its issue date is
    ignored; ``start`` is the first invoice's), every ``every`` ``unit``s from ``start``,
    the last one on or before ``end`` (None: until deleted); ``due_days`` after each
    invoice's date. Each generated invoice is a draft."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice: InvoiceDraft
    unit: Literal["week", "month"]
    every: int = 1
    start: date
    end: date | None = None
    due_days: int = 0


class RepeatingInvoice(BaseModel):
    """A repeating invoice as the provider keeps it. ``next_date`` is None once it has
    generated its last invoice; ``status`` DELETED once deleted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    status: str
    contact_id: str | None = None
    unit: Literal["week", "month"]
    every: int
    start: date | None = None
    next_date: date | None = None
    end: date | None = None
