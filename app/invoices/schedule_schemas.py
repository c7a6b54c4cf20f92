"""The recurring billing API's shapes (``flows/recurring.py``)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

from app.invoices.schemas import Provider

ScheduleAction = Literal["pause", "resume", "stop"]


class ScheduleOut(BaseModel):
    """One schedule of a deal: what it bills, how often, how far it got, what comes next."""

    id: str
    deal_id: int
    provider: Provider
    product_ids: list[int]
    frequency: str
    cycles: int | None = None
    start_date: date
    # No product gave a start date: the deal's expected close date is used (the dialog says so).
    start_from_close: bool = False
    periods_done: int
    next_date: date | None = None
    status: str
    last_error: str | None = None
    note: str | None = None
