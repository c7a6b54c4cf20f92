"""Typed DTOs for what we read from Pipedrive (API v2 shapes, v1 where v2 lacks something).

Every model ignores unknown keys (Pipedrive adds fields without notice) and keeps money as
Decimal: the client parses JSON numbers straight into Decimal, never through float.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from annotated_types import Interval
from pydantic import BaseModel, ConfigDict, Field, field_validator

Entity = Literal["organization", "person", "deal"]
# Pipedrive's ids (deals, persons, organizations, products) are positive integers, and ours
# store them as BIGINT: anything else is refused at our edge (422 naming the field) instead of
# being sent to Pipedrive, which answers 400 to it.
MAX_PIPEDRIVE_ID = 2**63 - 1
PipedriveId = Annotated[int, Interval(ge=1, le=MAX_PIPEDRIVE_ID)]
ENTITIES: tuple[Entity, ...] = ("organization", "person", "deal")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Access(_Model):
    """One of ``users/me`` ``access[]``: the user's rights in one Pipedrive app."""

    app: str = ""
    admin: bool = False
    permission_set_id: str | None = None


class Me(_Model):
    """``GET /api/v1/users/me``: who installed, in which company, with which rights."""

    id: int
    company_id: int
    company_name: str = ""
    company_domain: str = ""
    name: str = ""
    email: str = ""
    is_admin: bool = False
    default_currency: str | None = None
    timezone_name: str | None = None
    locale: str | None = None
    access: list[Access] = Field(default_factory=list)

    def sales_access(self) -> Access | None:
        """The sales (else global) app's entry of ``access[]``, if Pipedrive sent one."""
        by_app = {a.app: a for a in self.access}
        return by_app.get("sales") or by_app.get("global")

    @property
    def admin(self) -> bool:
        """Admin by ``access[]`` (authoritative, lifecycle-and-billing.md §3.6), else by the
        documented ``is_admin``."""
        entry = self.sales_access()
        if entry is not None:
            return entry.admin or any(a.admin for a in self.access if a.app == "global")
        return self.is_admin

    @property
    def permission_set_id(self) -> str | None:
        entry = self.sales_access()
        return entry.permission_set_id if entry is not None else None


class LabeledValue(_Model):
    """One email or phone of a person: ``{value, primary, label}``."""

    value: str = ""
    primary: bool = False
    label: str | None = None


class Address(_Model):
    """Pipedrive's structured address object (v2)."""

    value: str | None = None
    street_number: str | None = None
    route: str | None = None
    subpremise: str | None = None
    sublocality: str | None = None
    locality: str | None = None
    admin_area_level_1: str | None = None
    admin_area_level_2: str | None = None
    country: str | None = None
    postal_code: str | None = None
    formatted_address: str | None = None


class Deal(_Model):
    id: int
    title: str = ""
    value: Decimal | None = None
    currency: str | None = None
    owner_id: int | None = None
    person_id: int | None = None
    org_id: int | None = None
    pipeline_id: int | None = None
    stage_id: int | None = None
    status: str | None = None
    expected_close_date: str | None = None
    is_deleted: bool = False
    is_archived: bool = False
    add_time: str | None = None
    update_time: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    # Every key Pipedrive sent, for resolving standard fields we do not model one by one.
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value or {}


class DealProduct(_Model):
    """A product attached to a deal; ``id`` is the attachment, ``product_id`` the product."""

    id: int
    deal_id: int | None = None
    product_id: int | None = None
    product_variation_id: int | None = None
    name: str = ""
    item_price: Decimal = Decimal(0)
    # Typed integer in the spec; decimals are UNCONFIRMED, so accept them.
    quantity: Decimal = Decimal(1)
    discount: Decimal = Decimal(0)
    discount_type: Literal["percentage", "amount"] = "percentage"
    tax: Decimal = Decimal(0)
    tax_method: Literal["exclusive", "inclusive", "none"] | None = None
    sum: Decimal | None = None
    currency: str | None = None
    comments: str = ""
    is_enabled: bool = True
    order_nr: int | None = None
    billing_frequency: str | None = None
    billing_frequency_cycles: int | None = None
    billing_start_date: str | None = None

    @field_validator("comments", mode="before")
    @classmethod
    def _comments(cls, value: Any) -> Any:
        return value or ""

    @field_validator("discount", "tax", "item_price", mode="before")
    @classmethod
    def _zero(cls, value: Any) -> Any:
        return Decimal(0) if value is None else value


class DealDiscount(_Model):
    id: str
    type: Literal["percentage", "amount"]
    amount: Decimal
    description: str = ""
    deal_id: int | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value)


class DealInstallment(_Model):
    """A deal installment (API v2, Growth plans and up): one amount to bill on a date, in the
    deal's currency (installments carry none). Installments exclude recurring products."""

    id: int
    deal_id: int
    description: str = ""
    amount: Decimal
    billing_date: date | None = None


class ProductPrice(_Model):
    currency: str
    price: Decimal | None = None
    cost: Decimal | None = None


class Product(_Model):
    id: int
    name: str = ""
    code: str | None = None
    unit: str | None = None
    tax: Decimal | None = None
    is_deleted: bool = False
    prices: list[ProductPrice] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)

    @field_validator("custom_fields", "prices", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value or ([] if isinstance(value, list) or value is None else {})


class Organization(_Model):
    id: int
    name: str = ""
    owner_id: int | None = None
    is_deleted: bool = False
    address: Address | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value or {}

    @field_validator("address", mode="before")
    @classmethod
    def _address(cls, value: Any) -> Any:
        # v1-style plain strings still turn up in some payloads; keep them as the free text.
        if isinstance(value, str):
            return {"value": value}
        return value


class Person(_Model):
    id: int
    name: str = ""
    first_name: str | None = None
    last_name: str | None = None
    owner_id: int | None = None
    org_id: int | None = None
    emails: list[LabeledValue] = Field(default_factory=list)
    phones: list[LabeledValue] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value or {}

    @field_validator("emails", "phones", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [{"value": value, "primary": True}]
        return value

    @property
    def primary_email(self) -> str | None:
        return primary_value(self.emails)


def primary_value(values: list[LabeledValue]) -> str | None:
    """The entry marked primary, else the first non-empty one."""
    filled = [v for v in values if v.value]
    for item in filled:
        if item.primary:
            return item.value
    return filled[0].value if filled else None


class FieldOption(_Model):
    id: int | str
    label: str


class FieldDefinition(_Model):
    """One organization, person or deal field, standard or custom, in one shape for v1 and v2.

    ``key`` is what appears in entity payloads: the standard key (``name``, ``address``) or, for
    custom fields, the 40-char hash used under ``custom_fields``.
    """

    entity: Entity
    key: str
    name: str
    field_type: str
    is_custom: bool = False
    options: list[FieldOption] = Field(default_factory=list)

    def option_label(self, option_id: Any) -> str | None:
        for option in self.options:
            if str(option.id) == str(option_id):
                return option.label
        return None


class DealData(_Model):
    """Everything about one deal that invoicing needs, read in one go."""

    deal: Deal
    products: list[DealProduct] = Field(default_factory=list)
    discounts: list[DealDiscount] = Field(default_factory=list)
    organization: Organization | None = None
    person: Person | None = None
    # Products of the deal's lines, by product id (codes, units).
    catalog: dict[int, Product] = Field(default_factory=dict)


class WebhookIn(BaseModel):
    """``POST /v1/webhooks``: an app webhook (``name`` is required for apps)."""

    subscription_url: str
    event_action: Literal["create", "change", "delete", "*"]
    event_object: str
    name: str
    version: Literal["1.0", "2.0"] = "2.0"
    user_id: int | None = None
    http_auth_user: str | None = None
    http_auth_password: str | None = None


class Webhook(_Model):
    """A subscription as Pipedrive lists it (its credentials are not kept)."""

    id: int
    event_action: str
    event_object: str
    subscription_url: str
    name: str | None = None
    version: str | None = None


class Note(_Model):
    """A note as ``/v1/notes`` answers it (content is Pipedrive-sanitized HTML)."""

    id: int
    content: str = ""
    deal_id: int | None = None
    user_id: int | None = None
    add_time: str | None = None


ActivityType = Annotated[str, Field(min_length=1, max_length=64)]


class ActivityIn(BaseModel):
    """``POST /api/v2/activities``: a to-do for ``owner_id`` on ``deal_id``; ``type`` is an
    activity type's ``key_string`` (``call``, ``task``, ...), ``note`` is HTML."""

    subject: str = Field(min_length=1, max_length=255)
    type: ActivityType = "task"
    owner_id: PipedriveId | None = None
    deal_id: PipedriveId | None = None
    due_date: date | None = None
    note: str | None = None
    done: bool = False

    def body(self) -> dict[str, Any]:
        out = self.model_dump(exclude_none=True)
        if self.due_date is not None:
            out["due_date"] = self.due_date.isoformat()
        return out


class Activity(_Model):
    """An activity as API v2 answers it."""

    id: int
    subject: str = ""
    type: str = ""
    owner_id: int | None = None
    deal_id: int | None = None
    due_date: str | None = None
    done: bool = False
    note: str | None = None
