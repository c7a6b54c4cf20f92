"""From a company's field mapping and one deal's data to the invoice's customer fields.

Pure: no I/O. Every value Pipedrive can hold as text is turned into the string an invoice shows:
varchar/text as is, address objects as multi-line addresses, email and phone lists as the
primary entry, enum/set option ids as their labels, monetary values as "amount currency".
Whatever cannot be filled (no organization on the deal, a deleted custom field, an empty value)
comes back as None with a warning, and a value longer than the provider allows is cut with a
warning, never silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from app.crm.pipedrive.schemas import (
    Address,
    DealData,
    Entity,
    FieldDefinition,
    LabeledValue,
    primary_value,
)

Target = Literal["to", "address", "email", "tax_id"]
TARGETS: tuple[Target, ...] = ("to", "address", "email", "tax_id")
TARGET_LABELS: dict[Target, str] = {
    "to": "To",
    "address": "Address",
    "email": "Email",
    "tax_id": "Customer tax ID",
}
ENTITY_LABELS: dict[Entity, str] = {
    "organization": "Organization",
    "person": "Person",
    "deal": "Deal",
}

# Field types that can yield text for an invoice's customer fields.
TEXT_TYPES = frozenset(
    {
        "varchar",
        "varchar_auto",
        "varchar_options",
        "text",
        "address",
        "email",
        "enum",
        "set",
        "monetary",
        "phone",
        "double",
        "int",
        "name",
        "org",
        "people",
    }
)

# Longest value each provider accepts per field. Xero: Contact Name ≤255, EmailAddress ≤255,
# TaxNumber ≤50, AddressLine ≤500 (Xero OpenAPI). QuickBooks: DisplayName ≤500,
# PrimaryEmailAddr ≤100, address Line ≤500 (quickbooks.md); its tax id length is UNCONFIRMED,
# so we keep to a conservative 30.
PROVIDER_LIMITS: dict[str, dict[Target, int]] = {
    "xero": {"to": 255, "address": 500, "email": 255, "tax_id": 50},
    "quickbooks": {"to": 500, "address": 500, "email": 100, "tax_id": 30},
}


@dataclass(frozen=True)
class FieldRef:
    """``organization:name`` / ``deal:<hash>``: which entity and which Pipedrive field key."""

    entity: Entity
    key: str

    @classmethod
    def parse(cls, text: str) -> FieldRef:
        entity, sep, key = text.partition(":")
        if not sep or not key or entity not in ENTITY_LABELS:
            raise ValueError(f"'{text}' is not an entity:key field reference")
        return cls(entity=entity, key=key)

    def __str__(self) -> str:
        return f"{self.entity}:{self.key}"


@dataclass(frozen=True)
class ResolutionWarning:
    target: Target
    code: str
    message: str


@dataclass(frozen=True)
class CustomerFields:
    to: str | None = None
    address: str | None = None
    email: str | None = None
    tax_id: str | None = None
    warnings: tuple[ResolutionWarning, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, str | None]:
        return {"to": self.to, "address": self.address, "email": self.email, "tax_id": self.tax_id}


# Standard keys that differ between API versions: v1 names on the left, v2 payload keys right.
KEY_ALIASES = {"email": "emails", "phone": "phones", "org_id": "org_id", "person_id": "person_id"}


def same_field_key(a: str, b: str) -> bool:
    """Whether two keys name one field: v1 field keys (``email``) and v2 field codes
    (``emails``) differ for a few standard fields."""
    return a == b or KEY_ALIASES.get(a) == b or KEY_ALIASES.get(b) == a


def find_definition(
    definitions: Mapping[Entity, Sequence[FieldDefinition]], ref: FieldRef
) -> FieldDefinition | None:
    """The definition a preference names, under either API version's key."""
    candidates = definitions.get(ref.entity, ())
    exact = next((d for d in candidates if d.key == ref.key), None)
    return exact or next((d for d in candidates if same_field_key(d.key, ref.key)), None)


def format_address(value: Any) -> str | None:
    """A multi-line postal address from Pipedrive's address object (or free text)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Mapping):
        value = Address.model_validate(value)
    if not isinstance(value, Address):
        return str(value)
    street = " ".join(p for p in (value.street_number, value.route) if p)
    if value.subpremise:
        street = f"{value.subpremise}/{street}" if street else value.subpremise
    city_line = " ".join(p for p in (value.locality, value.postal_code) if p)
    region = value.admin_area_level_1
    if region and region in (value.locality, value.sublocality):
        region = None  # "Auckland 1010 / Auckland" says the city twice
    lines = [street, value.sublocality, city_line, region, value.country]
    structured = [line for line in lines if line]
    if street and (value.locality or value.country):
        return "\n".join(structured)
    # Only free text (or too few parts): split Pipedrive's one-line form at its commas.
    text = value.formatted_address or value.value
    if text:
        return "\n".join(part.strip() for part in text.split(",") if part.strip())
    return "\n".join(structured) or None


def format_money(value: Any) -> str | None:
    """``{"value": 1200, "currency": "EUR"}`` → ``1200.00 EUR``."""
    if isinstance(value, Mapping):
        amount, currency = value.get("value"), value.get("currency")
    else:
        amount, currency = value, None
    if amount in (None, ""):
        return None
    try:
        number = Decimal(str(amount)).quantize(Decimal("0.01"))
        text = f"{number:,.2f}"
    except ArithmeticError:
        text = str(amount)
    return f"{text} {currency}".strip() if currency else text


def _labeled_list(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Sequence):
        items = [
            item if isinstance(item, LabeledValue) else LabeledValue.model_validate(item)
            for item in value
            if isinstance(item, (Mapping, LabeledValue))
        ]
        return primary_value(items)
    return None


def _option_ids(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, Sequence):
        return list(value)
    return [value]


def format_value(
    value: Any, definition: FieldDefinition | None, data: DealData, target: Target
) -> tuple[str | None, list[str]]:
    """The text of one field value per its Pipedrive type; plus notes about what was lost."""
    notes: list[str] = []
    if value is None or value == "" or value == []:
        return None, notes
    field_type = definition.field_type if definition else None
    if isinstance(value, Mapping) and "value" in value and "currency" in value:
        return format_money(value), notes
    if field_type == "address" or isinstance(value, Address):
        return format_address(value), notes
    if field_type in ("email", "phone") or (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and value
        and isinstance(value[0], (Mapping, LabeledValue))
    ):
        return _labeled_list(value), notes
    if field_type in ("enum", "set") and definition is not None:
        labels = []
        for option_id in _option_ids(value):
            label = definition.option_label(option_id)
            if label is None:
                notes.append(f"option {option_id} no longer exists in Pipedrive")
            else:
                labels.append(label)
        return (", ".join(labels) or None), notes
    if field_type == "monetary":
        # A standard monetary field (the deal's value) carries its currency on the deal.
        currency = data.deal.currency if definition and definition.entity == "deal" else None
        money = {"value": value, "currency": currency} if currency else value
        return format_money(money), notes
    if field_type == "org":
        org = data.organization
        return (org.name if org and _same_id(org.id, value) else None), notes
    if field_type == "people":
        person = data.person
        return (person.name if person and _same_id(person.id, value) else None), notes
    if isinstance(value, Mapping):
        # A relation object (v1) or a structure we do not model: its name or value, if any.
        inner = value.get("name") or value.get("value")
        return (str(inner).strip() or None) if inner is not None else None, notes
    if isinstance(value, bool):
        return ("Yes" if value else "No"), notes
    if isinstance(value, Decimal | int | float):
        return str(value), notes
    text = str(value).strip()
    return (text or None), notes


def _same_id(entity_id: int, value: Any) -> bool:
    if isinstance(value, Mapping):
        value = value.get("value") or value.get("id")
    return str(entity_id) == str(value)


def _entity_values(data: DealData, entity: Entity) -> dict[str, Any] | None:
    """Standard keys and custom fields of one entity as one lookup, or None when absent."""
    if entity == "deal":
        source: Any = data.deal
    elif entity == "organization":
        source = data.organization
    else:
        source = data.person
    if source is None:
        return None
    values: dict[str, Any] = dict(getattr(source, "raw", {}) or {})
    values.update(source.model_dump(exclude={"raw", "custom_fields"}))
    if entity == "organization" and data.organization and data.organization.address:
        values["address"] = data.organization.address
    values.update(getattr(source, "custom_fields", {}) or {})
    return values


def _lookup(values: dict[str, Any], key: str) -> Any:
    if key in values and values[key] not in (None, "", []):
        return values[key]
    alias = KEY_ALIASES.get(key)
    if alias and alias in values:
        return values[alias]
    return values.get(key)


def resolve_one(
    target: Target,
    ref: FieldRef | None,
    data: DealData,
    definitions: Mapping[Entity, Sequence[FieldDefinition]],
    limit: int | None,
) -> tuple[str | None, list[ResolutionWarning]]:
    label = TARGET_LABELS[target]
    warnings: list[ResolutionWarning] = []
    if ref is None:
        return None, warnings
    definition = find_definition(definitions, ref)
    if definition is None:
        warnings.append(
            ResolutionWarning(
                target,
                "field_deleted",
                f"{label}: the {ENTITY_LABELS[ref.entity].lower()} field '{ref.key}' no longer "
                "exists in Pipedrive; choose another in the preferences",
            )
        )
        return None, warnings
    values = _entity_values(data, ref.entity)
    if values is None:
        warnings.append(
            ResolutionWarning(
                target,
                f"no_{ref.entity}",
                f"{label}: the deal has no {ENTITY_LABELS[ref.entity].lower()}",
            )
        )
        return None, warnings
    text, notes = format_value(_lookup(values, ref.key), definition, data, target)
    for note in notes:
        warnings.append(ResolutionWarning(target, "option_missing", f"{label}: {note}"))
    if text is None:
        warnings.append(
            ResolutionWarning(
                target,
                "empty",
                f"{label}: {ENTITY_LABELS[ref.entity]} {definition.name} is empty on this deal",
            )
        )
        return None, warnings
    if limit is not None and len(text) > limit:
        warnings.append(
            ResolutionWarning(
                target,
                "truncated",
                f"{label} was cut to {limit} characters (from {len(text)}), the accounting "
                "system's limit",
            )
        )
        text = text[:limit].rstrip()
    return text, warnings


def resolve_customer_fields(
    mapping: Mapping[Target, FieldRef | None],
    data: DealData,
    definitions: Mapping[Entity, Sequence[FieldDefinition]],
    provider: str,
) -> CustomerFields:
    """The invoice's To, Address, Email and Customer tax ID for this deal, with warnings."""
    limits = PROVIDER_LIMITS.get(provider, {})
    values: dict[str, str | None] = {}
    warnings: list[ResolutionWarning] = []
    for target in TARGETS:
        text, found = resolve_one(
            target, mapping.get(target), data, definitions, limits.get(target)
        )
        values[target] = text
        warnings.extend(found)
    return CustomerFields(
        to=values["to"],
        address=values["address"],
        email=values["email"],
        tax_id=values["tax_id"],
        warnings=tuple(warnings),
    )
