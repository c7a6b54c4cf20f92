"""Field resolution: every text-capable Pipedrive field type, absences, deletions, limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.crm.pipedrive.schemas import DealData, Entity, FieldDefinition, FieldOption
from app.preferences.resolution import (
    FieldRef,
    format_address,
    resolve_customer_fields,
    resolve_one,
)

VAT = "a" * 40
SEGMENT = "b" * 40
TAGS = "c" * 40
BUDGET = "d" * 40
HOTLINE = "e" * 40
PO = "f" * 40
NOTES = "1" * 40
SCORE = "2" * 40


def fd(entity: Entity, key: str, name: str, field_type: str, **kw: Any) -> FieldDefinition:
    return FieldDefinition(entity=entity, key=key, name=name, field_type=field_type, **kw)


DEFS: dict[Entity, list[FieldDefinition]] = {
    "organization": [
        fd("organization", "name", "Name", "varchar"),
        fd("organization", "address", "Address", "address"),
        fd("organization", VAT, "VAT number", "varchar", is_custom=True),
        fd(
            "organization",
            SEGMENT,
            "Segment",
            "enum",
            is_custom=True,
            options=[FieldOption(id=1, label="SMB"), FieldOption(id=2, label="Enterprise")],
        ),
        fd(
            "organization",
            TAGS,
            "Tags",
            "set",
            is_custom=True,
            options=[FieldOption(id=5, label="Reseller"), FieldOption(id=6, label="Partner")],
        ),
        fd("organization", BUDGET, "Budget", "monetary", is_custom=True),
        fd("organization", HOTLINE, "Hotline", "phone", is_custom=True),
        fd("organization", NOTES, "Billing notes", "text", is_custom=True),
        fd("organization", SCORE, "Score", "double", is_custom=True),
    ],
    "person": [
        fd("person", "name", "Name", "varchar"),
        fd("person", "email", "Email", "varchar"),
        fd("person", "phone", "Phone", "phone"),
    ],
    "deal": [
        fd("deal", "title", "Title", "varchar"),
        fd("deal", "value", "Value", "monetary"),
        fd("deal", "org_id", "Organization", "org"),
        fd("deal", "person_id", "Contact person", "people"),
        fd("deal", PO, "PO number", "varchar_auto", is_custom=True),
    ],
}

ADDRESS = {
    "value": "12 Queen Street, Auckland 1010, New Zealand",
    "street_number": "12",
    "route": "Queen Street",
    "locality": "Auckland",
    "postal_code": "1010",
    "country": "New Zealand",
}


def deal_data(**over: Any) -> DealData:
    org = {
        "id": 11,
        "name": "Acme Ltd",
        "address": ADDRESS,
        "custom_fields": {
            VAT: "NZ-123-456-789",
            SEGMENT: 2,
            TAGS: [5, 6],
            BUDGET: {"value": Decimal("1234.5"), "currency": "NZD"},
            HOTLINE: [{"value": "+64 9 555 0101", "primary": True, "label": "work"}],
            NOTES: "Pay to account 12-3456\nQuote the PO",
            SCORE: Decimal("4.5"),
        },
    }
    person = {
        "id": 21,
        "name": "Alice Buyer",
        "emails": [
            {"value": "accounts@acme.test", "primary": False, "label": "work"},
            {"value": "alice@acme.test", "primary": True, "label": "work"},
        ],
        "phones": [{"value": "+64 21 000", "primary": True}],
    }
    deal = {
        "id": 31,
        "title": "Acme rollout",
        "value": Decimal("7300"),
        "currency": "NZD",
        "org_id": 11,
        "person_id": 21,
        "custom_fields": {PO: "PO-7781"},
    }
    payload: dict[str, Any] = {"deal": deal, "organization": org, "person": person}
    payload.update(over)
    return DealData.model_validate(payload)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("organization:name", "Acme Ltd"),
        ("organization:address", "12 Queen Street\nAuckland 1010\nNew Zealand"),
        (f"organization:{VAT}", "NZ-123-456-789"),
        (f"organization:{SEGMENT}", "Enterprise"),
        (f"organization:{TAGS}", "Reseller, Partner"),
        (f"organization:{BUDGET}", "1,234.50 NZD"),
        (f"organization:{HOTLINE}", "+64 9 555 0101"),
        (f"organization:{NOTES}", "Pay to account 12-3456\nQuote the PO"),
        (f"organization:{SCORE}", "4.5"),
        ("person:name", "Alice Buyer"),
        ("person:email", "alice@acme.test"),
        ("person:phone", "+64 21 000"),
        ("deal:title", "Acme rollout"),
        ("deal:value", "7,300.00 NZD"),
        ("deal:org_id", "Acme Ltd"),
        ("deal:person_id", "Alice Buyer"),
        (f"deal:{PO}", "PO-7781"),
    ],
)
def test_every_text_capable_type(ref: str, expected: str) -> None:
    value, warnings = resolve_one("to", FieldRef.parse(ref), deal_data(), DEFS, None)
    assert value == expected
    assert warnings == []


def test_set_given_as_comma_string_and_unknown_option() -> None:
    data = deal_data()
    assert data.organization is not None
    data.organization.custom_fields[TAGS] = "6,9"
    value, warnings = resolve_one("to", FieldRef("organization", TAGS), data, DEFS, None)
    assert value == "Partner"
    assert [w.code for w in warnings] == ["option_missing"]
    assert "option 9" in warnings[0].message


def test_email_without_primary_takes_the_first() -> None:
    person = {"id": 21, "name": "A", "emails": [{"value": "first@x.test"}, {"value": "b@x.test"}]}
    value, _ = resolve_one(
        "email", FieldRef("person", "email"), deal_data(person=person), DEFS, 255
    )
    assert value == "first@x.test"


def test_address_from_free_text_only() -> None:
    assert format_address({"value": "500 Market St, San Francisco, CA 94105, USA"}) == (
        "500 Market St\nSan Francisco\nCA 94105\nUSA"
    )
    assert format_address("Hauptstrasse 5, 10115 Berlin") == "Hauptstrasse 5, 10115 Berlin"
    assert format_address(None) is None


def test_address_with_region_and_subpremise() -> None:
    address = {
        "subpremise": "Level 3",
        "street_number": "500",
        "route": "Market St",
        "locality": "San Francisco",
        "admin_area_level_1": "CA",
        "postal_code": "94105",
        "country": "USA",
    }
    assert format_address(address) == "Level 3/500 Market St\nSan Francisco 94105\nCA\nUSA"
    same_city = dict(ADDRESS, admin_area_level_1="Auckland")
    assert format_address(same_city) == "12 Queen Street\nAuckland 1010\nNew Zealand"


def test_missing_organization_and_person_are_warned_not_guessed() -> None:
    data = deal_data(organization=None, person=None)
    mapping = {
        "to": FieldRef("organization", "name"),
        "address": FieldRef("organization", "address"),
        "email": FieldRef("person", "email"),
        "tax_id": None,
    }
    result = resolve_customer_fields(mapping, data, DEFS, "xero")  # type: ignore[arg-type]
    assert result.as_dict() == {"to": None, "address": None, "email": None, "tax_id": None}
    codes = [(w.target, w.code) for w in result.warnings]
    assert codes == [
        ("to", "no_organization"),
        ("address", "no_organization"),
        ("email", "no_person"),
    ]


def test_deleted_custom_field_is_flagged() -> None:
    gone = "9" * 40
    value, warnings = resolve_one("tax_id", FieldRef("organization", gone), deal_data(), DEFS, 50)
    assert value is None
    assert warnings[0].code == "field_deleted"
    assert "no longer exists" in warnings[0].message


def test_empty_value_is_warned() -> None:
    data = deal_data()
    assert data.organization is not None
    data.organization.custom_fields[VAT] = None
    value, warnings = resolve_one("tax_id", FieldRef("organization", VAT), data, DEFS, 50)
    assert value is None
    assert warnings[0].code == "empty"


@pytest.mark.parametrize(("provider", "limit"), [("xero", 255), ("quickbooks", 500)])
def test_too_long_values_are_truncated_with_a_warning(provider: str, limit: int) -> None:
    data = deal_data()
    assert data.organization is not None
    data.organization.name = "N" * 600
    mapping = {"to": FieldRef("organization", "name")}
    result = resolve_customer_fields(mapping, data, DEFS, provider)  # type: ignore[arg-type]
    assert result.to == "N" * limit
    assert [w.code for w in result.warnings] == ["truncated"]
    assert f"cut to {limit} characters (from 600)" in result.warnings[0].message


def test_quickbooks_email_limit_is_100() -> None:
    person = {"id": 21, "name": "A", "emails": [{"value": "x" * 120 + "@a.test", "primary": True}]}
    mapping = {"email": FieldRef("person", "email")}
    result = resolve_customer_fields(mapping, deal_data(person=person), DEFS, "quickbooks")  # type: ignore[arg-type]
    assert result.email is not None and len(result.email) == 100
    assert result.warnings[0].code == "truncated"


def test_suggested_mapping_for_the_seeded_deal() -> None:
    mapping = {
        "to": FieldRef("organization", "name"),
        "address": FieldRef("organization", "address"),
        "email": FieldRef("person", "email"),
        "tax_id": FieldRef("organization", VAT),
    }
    result = resolve_customer_fields(mapping, deal_data(), DEFS, "xero")  # type: ignore[arg-type]
    assert result.as_dict() == {
        "to": "Acme Ltd",
        "address": "12 Queen Street\nAuckland 1010\nNew Zealand",
        "email": "alice@acme.test",
        "tax_id": "NZ-123-456-789",
    }
    assert result.warnings == ()


def test_invoice_prefill_combines_mapping_terms_and_reference() -> None:
    from datetime import date

    from app.preferences.due_dates import DueRule, Terms
    from app.preferences.schemas import PreferencesIn
    from app.preferences.service import invoice_prefill

    prefs = PreferencesIn.model_validate(
        {
            "mapping": {
                "to": {"entity": "organization", "key": "name"},
                "email": {"entity": "person", "key": "email"},
            },
            "due_terms": {"rule": "days_after_invoice", "days": 7, "use_contact_terms": True},
            "defaults": {"reference_template": "{deal_title} / {org_name}"},
        }
    )
    issued = date(2026, 3, 13)
    ours = invoice_prefill("xero", prefs, deal_data(), DEFS, issued)
    assert ours.due_date == date(2026, 3, 20)
    assert ours.customer.to == "Acme Ltd" and ours.customer.email == "alice@acme.test"
    assert ours.reference == "Acme rollout / Acme Ltd"
    theirs = invoice_prefill(
        "xero", prefs, deal_data(), DEFS, issued, Terms(DueRule.day_of_following_month, 20)
    )
    assert theirs.due_date == date(2026, 4, 20)


@pytest.mark.parametrize(("saved", "served"), [("email", "emails"), ("emails", "email")])
def test_email_field_named_the_other_api_versions_way_still_resolves(saved, served) -> None:
    """v1 calls the person email field ``email``, v2's Fields API ``emails``: a preference
    saved under one name keeps working when definitions come from the other."""
    definitions = {**DEFS, "person": [fd("person", served, "Email", "varchar")]}
    value, warnings = resolve_one(
        "email", FieldRef(entity="person", key=saved), deal_data(), definitions, None
    )
    assert value == "alice@acme.test"
    assert warnings == []
