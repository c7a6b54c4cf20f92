"""Invoicing preferences: suggested defaults, validation against Pipedrive's live fields,
saving, and the preview of what they yield."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.pipedrive.schemas import DealData, Entity, FieldDefinition
from app.db import utcnow
from app.errors import ValidationFailed
from app.preferences.due_dates import DueRule, Terms, describe, due_date
from app.preferences.models import InvoicingPreference
from app.preferences.repository import PreferenceRepository
from app.preferences.resolution import (
    ENTITY_LABELS,
    TARGET_LABELS,
    TARGETS,
    TEXT_TYPES,
    CustomerFields,
    FieldRef,
    Target,
    find_definition,
    resolve_customer_fields,
)
from app.preferences.schemas import (
    CrmFieldOut,
    CrmFieldsOut,
    DefaultsIn,
    DueTermsIn,
    DueTermsOut,
    FieldRefIn,
    FieldRefOut,
    MappingIn,
    MappingOut,
    PreferencesIn,
    PreferencesOut,
    PreviewOut,
    Provider,
)

Definitions = Mapping[Entity, Sequence[FieldDefinition]]


def is_mappable(definition: FieldDefinition) -> bool:
    return definition.field_type in TEXT_TYPES


def find_field(definitions: Definitions, entity: Entity, key: str) -> FieldDefinition | None:
    return find_definition(definitions, FieldRef(entity=entity, key=key))


def _first(
    definitions: Definitions, entity: Entity, keys: Sequence[str], types: Sequence[str]
) -> FieldRefIn | None:
    for key in keys:
        found = find_field(definitions, entity, key)
        if found:
            return FieldRefIn(entity=entity, key=found.key)
    for definition in definitions.get(entity, ()):
        if not definition.is_custom and definition.field_type in types:
            return FieldRefIn(entity=entity, key=definition.key)
    return None


def suggested_mapping(definitions: Definitions | None) -> MappingIn:
    """Organization name → To, organization address → Address, person email → Email, no tax
    ID (there is no standard field for it). Keys are taken from the live definitions when
    known, since v1 and v2 name the email field differently."""
    if not definitions:
        return MappingIn(
            to=FieldRefIn(entity="organization", key="name"),
            address=FieldRefIn(entity="organization", key="address"),
            email=FieldRefIn(entity="person", key="email"),
        )
    return MappingIn(
        to=_first(definitions, "organization", ["name"], []),
        address=_first(definitions, "organization", ["address"], ["address"]),
        email=_first(definitions, "person", ["email", "emails"], ["email"]),
    )


def suggested_preferences(definitions: Definitions | None) -> PreferencesIn:
    return PreferencesIn(mapping=suggested_mapping(definitions))


def _ref_out(ref: FieldRefIn | None, definitions: Definitions | None) -> FieldRefOut | None:
    if ref is None:
        return None
    if definitions is None:
        return FieldRefOut(entity=ref.entity, key=ref.key, status="unknown")
    found = find_field(definitions, ref.entity, ref.key)
    if found is None:
        return FieldRefOut(entity=ref.entity, key=ref.key, status="deleted")
    return FieldRefOut(
        entity=ref.entity, key=ref.key, name=found.name, field_type=found.field_type, status="ok"
    )


def to_input(row: InvoicingPreference) -> PreferencesIn:
    """A saved row as the input model (so that the page and the API share one shape)."""

    def ref(text: str | None) -> FieldRefIn | None:
        if not text:
            return None
        parsed = FieldRef.parse(text)
        return FieldRefIn(entity=parsed.entity, key=parsed.key)

    return PreferencesIn.model_construct(
        mapping=MappingIn.model_construct(
            to=ref(row.to_field),
            address=ref(row.address_field),
            email=ref(row.email_field),
            tax_id=ref(row.tax_id_field),
        ),
        due_terms=DueTermsIn.model_construct(
            rule=DueRule(row.due_rule), days=row.due_days, use_contact_terms=row.use_contact_terms
        ),
        defaults=DefaultsIn.model_construct(
            tax_mode=row.tax_mode,  # type: ignore[arg-type]
            tax_rate=row.tax_rate,
            revenue_account=row.revenue_account,
            template=row.template,
            update_customer_info=row.update_customer_info,
            reference_template=row.reference_template,
        ),
    )


def describe_preferences(
    provider: Provider,
    prefs: PreferencesIn,
    definitions: Definitions | None,
    row: InvoicingPreference | None,
) -> PreferencesOut:
    mapping = MappingOut(
        to=_ref_out(prefs.mapping.to, definitions),
        address=_ref_out(prefs.mapping.address, definitions),
        email=_ref_out(prefs.mapping.email, definitions),
        tax_id=_ref_out(prefs.mapping.tax_id, definitions),
    )
    warnings = []
    for target in TARGETS:
        out: FieldRefOut | None = getattr(mapping, target)
        if out is not None and out.status == "deleted":
            warnings.append(
                f"{TARGET_LABELS[target]}: the {ENTITY_LABELS[out.entity].lower()} field "
                f"'{out.key}' was deleted in Pipedrive; choose another"
            )
    if definitions is None:
        warnings.append("Pipedrive could not be reached to check the chosen fields")
    terms = prefs.due_terms
    return PreferencesOut(
        provider=provider,
        saved=row is not None,
        mapping=mapping,
        due_terms=DueTermsOut(
            rule=terms.rule,
            days=terms.days,
            use_contact_terms=terms.use_contact_terms,
            description=describe(Terms(terms.rule, terms.days)),
        ),
        defaults=prefs.defaults,
        updated_at=row.updated_at if row else None,
        warnings=warnings,
    )


async def load_preferences(
    session: AsyncSession, company_id: str, provider: Provider, definitions: Definitions | None
) -> tuple[PreferencesIn, InvoicingPreference | None]:
    """The saved preferences, or the suggested ones when none are saved yet."""
    row = await PreferenceRepository(session, company_id).by_provider(provider)
    if row is None:
        return suggested_preferences(definitions), None
    return to_input(row), row


_WORDS = frozenset({"varchar", "varchar_auto", "varchar_options", "text"})
# Which Pipedrive field types each invoice part can be filled from: an email from a text or
# email field, never from a number, an amount or a person picker.
TARGET_TYPES: dict[Target, frozenset[str]] = {
    "to": _WORDS | {"name", "org", "people", "enum"},
    "address": _WORDS | {"address"},
    "email": _WORDS | {"email"},
    "tax_id": _WORDS | {"int", "double", "enum"},
}
_WHAT = {
    "to": "a customer name",
    "address": "an address",
    "email": "an email address",
    "tax_id": "a tax ID",
}


def mapping_problems(prefs: PreferencesIn, definitions: Definitions) -> dict[str, str]:
    """Target → why the chosen field cannot fill it (its type), for the fields that exist."""
    problems: dict[str, str] = {}
    for target in TARGETS:
        ref: FieldRefIn | None = getattr(prefs.mapping, target)
        found = find_field(definitions, ref.entity, ref.key) if ref else None
        if ref is None or found is None or found.field_type in TARGET_TYPES[target]:
            continue
        problems[target] = (
            f"{TARGET_LABELS[target]} cannot be filled from {ENTITY_LABELS[ref.entity]} – "  # noqa: RUF001 - as the form labels it
            f"{found.name}: it is a {found.field_type.replace('_', ' ')} field, not "
            f"{_WHAT[target]}"
        )
    return problems


def validate_mapping(prefs: PreferencesIn, definitions: Definitions) -> None:
    """Every chosen field must exist in Pipedrive and suit the invoice part it fills (its
    type); 422 names it."""
    problems = mapping_problems(prefs, definitions)
    for target in TARGETS:
        ref: FieldRefIn | None = getattr(prefs.mapping, target)
        if ref is None:
            continue
        found = find_field(definitions, ref.entity, ref.key)
        where = f"mapping.{target}"
        if found is None:
            raise ValidationFailed(
                f"{where}: the {ref.entity} field '{ref.key}' does not exist in Pipedrive",
                field=where,
            )
        if not is_mappable(found):
            raise ValidationFailed(
                f"{where}: the {ref.entity} field '{found.name}' ({found.field_type}) cannot "
                "hold text for an invoice",
                field=where,
            )
        if target in problems:
            raise ValidationFailed(f"{where}: {problems[target]}", field=where)


async def save_preferences(
    session: AsyncSession,
    company_id: str,
    provider: Provider,
    prefs: PreferencesIn,
    definitions: Definitions,
    user_id: str,
) -> InvoicingPreference:
    """Validate against the live fields and upsert; nothing is written when invalid."""
    validate_mapping(prefs, definitions)
    repo = PreferenceRepository(session, company_id)
    row = await repo.by_provider(provider)
    if row is None:
        row = repo.add(InvoicingPreference(provider=provider))

    def text(ref: FieldRefIn | None) -> str | None:
        return f"{ref.entity}:{ref.key}" if ref else None

    row.to_field = text(prefs.mapping.to)
    row.address_field = text(prefs.mapping.address)
    row.email_field = text(prefs.mapping.email)
    row.tax_id_field = text(prefs.mapping.tax_id)
    row.due_rule = prefs.due_terms.rule.value
    row.due_days = prefs.due_terms.days
    row.use_contact_terms = prefs.due_terms.use_contact_terms
    defaults = prefs.defaults
    row.tax_mode = defaults.tax_mode
    row.tax_rate = defaults.tax_rate
    row.revenue_account = defaults.revenue_account
    row.template = defaults.template
    row.update_customer_info = defaults.update_customer_info
    row.reference_template = defaults.reference_template
    row.updated_by_user_id = user_id
    row.updated_at = utcnow()
    await session.flush()
    return row


def crm_fields(definitions: Definitions) -> CrmFieldsOut:
    def listing(entity: Entity) -> list[CrmFieldOut]:
        return [
            CrmFieldOut(
                key=d.key,
                name=d.name,
                field_type=d.field_type,
                is_custom=d.is_custom,
                mappable=is_mappable(d),
                options=[o.label for o in d.options],
            )
            for d in definitions.get(entity, ())
        ]

    return CrmFieldsOut(
        organization=listing("organization"), person=listing("person"), deal=listing("deal")
    )


def render_reference(template: str, data: DealData | None) -> str | None:
    """The invoice reference for a deal from the template (``{deal_title}`` by default)."""
    if data is None:
        return None
    values: dict[str, Any] = {
        "deal_title": data.deal.title,
        "deal_id": data.deal.id,
        "org_name": data.organization.name if data.organization else "",
        "person_name": data.person.name if data.person else "",
    }
    return string.Formatter().vformat(template, (), values).strip() or None


def mapping_refs(prefs: PreferencesIn) -> dict[Target, FieldRef | None]:
    refs: dict[Target, FieldRef | None] = {}
    for target in TARGETS:
        ref: FieldRefIn | None = getattr(prefs.mapping, target)
        refs[target] = FieldRef(ref.entity, ref.key) if ref else None
    return refs


def preview(
    provider: Provider,
    prefs: PreferencesIn,
    invoice_date: date,
    data: DealData | None,
    definitions: Definitions | None,
) -> PreviewOut:
    """What these preferences yield: the due date of an invoice issued on ``invoice_date`` and,
    for a sample deal, the customer fields and reference."""
    terms = Terms(prefs.due_terms.rule, prefs.due_terms.days)
    out = PreviewOut(
        invoice_date=invoice_date,
        due_date=due_date(invoice_date, terms),
        due_description=describe(terms),
    )
    if prefs.due_terms.use_contact_terms:
        out.warnings.append(
            "When the customer has its own payment terms in the accounting system, those win."
        )
    if data is not None:
        resolved = resolve_customer_fields(mapping_refs(prefs), data, definitions or {}, provider)
        out.deal_id = data.deal.id
        out.deal_title = data.deal.title
        out.customer = resolved.as_dict()
        out.reference = render_reference(prefs.defaults.reference_template, data)
        out.warnings.extend(w.message for w in resolved.warnings)
    return out


@dataclass(frozen=True)
class InvoicePrefill:
    """What the preferences put into a new invoice for one deal (used by the invoice dialog)."""

    customer: CustomerFields
    invoice_date: date
    due_date: date
    reference: str | None
    defaults: DefaultsIn


def invoice_prefill(
    provider: Provider,
    prefs: PreferencesIn,
    data: DealData,
    definitions: Definitions,
    invoice_date: date,
    contact_terms: Terms | None = None,
) -> InvoicePrefill:
    """Customer fields, due date (the contact's own terms when chosen and known), reference and
    defaults for an invoice from this deal. Pure: the caller reads Pipedrive and the provider."""
    terms = Terms(prefs.due_terms.rule, prefs.due_terms.days)
    return InvoicePrefill(
        customer=resolve_customer_fields(mapping_refs(prefs), data, definitions, provider),
        invoice_date=invoice_date,
        due_date=due_date(
            invoice_date,
            terms,
            use_contact_terms=prefs.due_terms.use_contact_terms,
            contact_terms=contact_terms,
        ),
        reference=render_reference(prefs.defaults.reference_template, data),
        defaults=prefs.defaults,
    )
