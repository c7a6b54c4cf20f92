"""The automation API's shapes: rules, the rule log, and the overdue follow-up settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.crm.pipedrive.schemas import PipedriveId


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    provider: Literal["xero", "quickbooks"]
    trigger: Literal["won", "stage"]
    pipeline_id: PipedriveId | None = None
    stage_id: PipedriveId | None = None
    only_with_products: bool = False
    min_amount: Decimal | None = Field(default=None, ge=0, max_digits=15, decimal_places=4)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    enabled: bool = True

    @model_validator(mode="after")
    def _stage_needs_both(self) -> RuleIn:
        if self.trigger == "stage" and (self.pipeline_id is None or self.stage_id is None):
            raise ValueError("a stage rule needs pipeline_id and stage_id")
        return self


class RuleOut(BaseModel):
    id: str
    name: str
    provider: str
    trigger: str
    pipeline_id: int | None
    stage_id: int | None
    only_with_products: bool
    min_amount: Decimal | None
    currency: str | None
    enabled: bool
    disabled_reason: str | None
    version: int


class FiringOut(BaseModel):
    id: str
    rule_id: str
    rule_name: str
    rule_version: int
    deal_id: int
    source: str
    outcome: str
    reason: str
    invoice_row_id: str | None
    note_id: int | None
    activity_id: int | None
    created_at: datetime


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overdue_followup: bool
    overdue_steps: list[int] = Field(
        default_factory=lambda: [1, 7, 14], min_length=1, max_length=10
    )

    @model_validator(mode="after")
    def _steps(self) -> SettingsIn:
        if any(not 1 <= s <= 365 for s in self.overdue_steps):
            raise ValueError("reminder steps are days overdue between 1 and 365")
        self.overdue_steps = sorted(set(self.overdue_steps))
        return self


class SettingsOut(BaseModel):
    overdue_followup: bool
    overdue_steps: list[int]
