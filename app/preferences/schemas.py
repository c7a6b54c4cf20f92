"""The preferences API's shapes. Inputs forbid unknown keys so that a typo is a 422, not a no-op."""

from __future__ import annotations

import string
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.crm.pipedrive.schemas import Entity
from app.preferences.due_dates import DueRule, InvalidTerms, validate_terms

Provider = Literal["xero", "quickbooks"]
PROVIDERS: tuple[Provider, ...] = ("xero", "quickbooks")
TaxMode = Literal["exclusive", "inclusive", "no_tax"]
REFERENCE_PLACEHOLDERS = ("deal_title", "deal_id", "org_name", "person_name")
DEFAULT_REFERENCE = "{deal_title}"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldRefIn(_In):
    entity: Entity
    key: str = Field(min_length=1, max_length=100)


class MappingIn(_In):
    to: FieldRefIn | None = None
    address: FieldRefIn | None = None
    email: FieldRefIn | None = None
    tax_id: FieldRefIn | None = None


class DueTermsIn(_In):
    rule: DueRule = DueRule.days_after_invoice
    days: int = 14
    # The contact's own payment terms in the provider win when it has them.
    use_contact_terms: bool = True

    @model_validator(mode="after")
    def _sensible(self) -> DueTermsIn:
        try:
            validate_terms(self.rule, self.days)
        except InvalidTerms as exc:
            raise ValueError(str(exc)) from exc
        return self


class DefaultsIn(_In):
    tax_mode: TaxMode = "exclusive"
    tax_rate: str | None = Field(default=None, max_length=64)
    revenue_account: str | None = Field(default=None, max_length=64)
    template: str | None = Field(default=None, max_length=128)
    update_customer_info: bool = False
    reference_template: str = Field(default=DEFAULT_REFERENCE, min_length=1, max_length=255)

    @field_validator("tax_rate", "revenue_account", "template", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("reference_template")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError as exc:
            raise ValueError(
                "the invoice reference has a { without its } (or a } without its {); write "
                "placeholders as {deal_title}"
            ) from exc
        unknown = [n for n in names if n not in REFERENCE_PLACEHOLDERS]
        if unknown:
            allowed = ", ".join("{" + p + "}" for p in REFERENCE_PLACEHOLDERS)
            raise ValueError(
                f"the invoice reference uses {{{unknown[0]}}}, which is not a placeholder; "
                f"use {allowed}"
            )
        return value


class PreferencesIn(_In):
    mapping: MappingIn = Field(default_factory=MappingIn)
    due_terms: DueTermsIn = Field(default_factory=DueTermsIn)
    defaults: DefaultsIn = Field(default_factory=DefaultsIn)


class FieldRefOut(BaseModel):
    entity: Entity
    key: str
    name: str | None = None
    field_type: str | None = None
    # ok: exists in Pipedrive; deleted: gone from the field definitions; unknown: Pipedrive
    # could not be asked just now.
    status: Literal["ok", "deleted", "unknown"] = "unknown"


class MappingOut(BaseModel):
    to: FieldRefOut | None = None
    address: FieldRefOut | None = None
    email: FieldRefOut | None = None
    tax_id: FieldRefOut | None = None


class DueTermsOut(BaseModel):
    rule: DueRule
    days: int
    use_contact_terms: bool
    description: str


class PreferencesOut(BaseModel):
    provider: Provider
    saved: bool
    mapping: MappingOut
    due_terms: DueTermsOut
    defaults: DefaultsIn
    updated_at: datetime | None = None
    warnings: list[str] = Field(default_factory=list)


class CrmFieldOut(BaseModel):
    key: str
    name: str
    field_type: str
    is_custom: bool
    mappable: bool
    options: list[str] = Field(default_factory=list)


class CrmFieldsOut(BaseModel):
    organization: list[CrmFieldOut]
    person: list[CrmFieldOut]
    deal: list[CrmFieldOut]


class PreviewOut(BaseModel):
    invoice_date: date
    due_date: date
    due_description: str
    deal_id: int | None = None
    deal_title: str | None = None
    customer: dict[str, str | None] = Field(default_factory=dict)
    reference: str | None = None
    warnings: list[str] = Field(default_factory=list)
