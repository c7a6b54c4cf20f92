"""The pure rules of invoice automation: matching, blockers in the dialog's words, the intent
key, reminder steps and the overdue subject (unit and property tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.automation.conditions import (
    DealFacts,
    RuleSpec,
    blockers,
    due_step,
    facts_of,
    intent_key,
    mismatch,
    overdue_subject,
    parse_steps,
    parse_time,
)
from app.invoices.schemas import Check, ContactOut, CustomerOut, DetailsOut, DraftOut, TotalsOut
from app.providers.base import TaxMode

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def rule(**over: object) -> RuleSpec:
    values: dict[str, object] = {
        "id": "r1",
        "version": 1,
        "name": "Won",
        "provider": "xero",
        "trigger": "won",
        "pipeline_id": None,
        "stage_id": None,
        "only_with_products": False,
        "min_amount_minor": None,
        "currency": None,
        "active_since": NOW,
        **over,
    }
    return RuleSpec(**values)  # type: ignore[arg-type]


def deal(**over: object) -> DealFacts:
    values: dict[str, object] = {
        "id": 31,
        "status": "won",
        "pipeline_id": 1,
        "stage_id": 3,
        "value": Decimal("6957.50"),
        "currency": "NZD",
        "has_products": True,
        "owner_id": 101,
        "won_time": NOW + timedelta(minutes=5),
        "stage_time": NOW + timedelta(minutes=5),
        **over,
    }
    return DealFacts(**values)  # type: ignore[arg-type]


def test_won_rule_matches_won_deals_only_after_it_was_active():
    assert mismatch(rule(), deal()) is None
    assert mismatch(rule(), deal(status="lost")) == "the deal is lost, not won"
    assert "before the rule" in (mismatch(rule(), deal(won_time=NOW - timedelta(days=1))) or "")
    # Pipedrive's whole seconds and clock skew: a second earlier still counts.
    assert mismatch(rule(), deal(won_time=NOW - timedelta(seconds=1))) is None


def test_stage_rule_and_filters():
    stage = rule(trigger="stage", pipeline_id=1, stage_id=5)
    assert mismatch(stage, deal(status="open", stage_id=5)) is None
    assert mismatch(stage, deal(status="open", stage_id=4)) == "the deal is not in the rule's stage"
    assert mismatch(stage, deal(status="lost", stage_id=5)) == "the deal is lost"
    assert mismatch(rule(only_with_products=True), deal(has_products=False))
    assert mismatch(rule(currency="EUR"), deal()) == "the deal is in NZD, not EUR"
    assert mismatch(rule(min_amount_minor=700000, currency="NZD"), deal())
    assert mismatch(rule(min_amount_minor=600000, currency="NZD"), deal()) is None
    assert mismatch(rule(), deal(is_deleted=True)) == "the deal is deleted"


@given(
    status=st.sampled_from(["open", "won", "lost", "deleted"]),
    stage=st.integers(1, 6),
    value=st.decimals(min_value=0, max_value=10**9, places=2),
)
def test_matching_depends_on_the_deal_state_only(status: str, stage: int, value: Decimal):
    """Level-triggered: the same state gives the same answer however often it is asked, so
    duplicates and events out of order cannot change the outcome."""
    spec = rule(trigger="stage", pipeline_id=1, stage_id=5, min_amount_minor=100)
    facts = deal(status=status, stage_id=stage, value=value)
    answer = mismatch(spec, facts)
    assert answer == mismatch(spec, facts)
    if answer is None:
        assert status in ("open", "won") and stage == 5 and value > 1


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40), st.integers(1, 10**12))
def test_intent_key_is_stable_distinct_and_fits_the_key_column(company, rule_id, deal_id):
    key = intent_key(company, rule_id, deal_id)
    assert key == intent_key(company, rule_id, deal_id)
    assert key != intent_key(company, rule_id, deal_id + 1)
    assert key.startswith("rule:") and len(key) <= 128


def test_a_rule_snapshot_round_trips():
    spec = rule(trigger="stage", pipeline_id=1, stage_id=5, currency="NZD")
    assert RuleSpec.from_snapshot(spec.snapshot()) == spec


def _draft(checks: list[Check], contact: bool = True) -> DraftOut:
    chosen = ContactOut(id="c1", name="Acme Ltd") if contact else None
    return DraftOut(
        provider="xero",
        deal_id=31,
        customer=CustomerOut(to="Acme Ltd", contact=chosen),
        details=DetailsOut(
            issue_date=NOW.date(),
            due_date=NOW.date(),
            currency="NZD",
            tax_mode=TaxMode.exclusive,
        ),
        lines=[],
        totals=TotalsOut(subtotal=0, tax=0, total=0),  # type: ignore[arg-type]
        checks=checks,
        features={},
    )


def test_blockers_use_the_dialogs_words():
    unlinked = Check(
        code="item_missing",
        severity="warning",
        field="lines[0].item_id",
        message="Line 1 (HW-KIT) is not linked to a Xero item; it will be sent as a "
        "description-only line.",
    )
    tax = Check(code="tax_differs", severity="confirm", message="Xero's tax differs")
    currency = Check(code="currency_not_enabled", severity="error", message="No EUR in Xero.")
    found = blockers(_draft([unlinked, tax, currency]), "Xero")
    assert [c.message for c in found] == [
        "Line 1 (HW-KIT) is not linked to a Xero item; link one or create it.",
        "No EUR in Xero.",
    ]
    missing = blockers(_draft([], contact=False), "QuickBooks")
    assert [c.message for c in missing] == [
        "Choose the QuickBooks contact to invoice, or create one."
    ]


@given(st.lists(st.integers(1, 365), min_size=1, max_size=10, unique=True), st.integers(-5, 400))
def test_due_step_is_the_largest_step_reached(steps: list[int], days: int):
    step = due_step(steps, days)
    if step is None:
        assert all(s > days for s in steps)
    else:
        assert step in steps and step <= days
        assert all(s <= step or s > days for s in steps)


def test_overdue_subject_and_steps():
    subject = overdue_subject("Acme Ltd", "INV-0005", Decimal("6957.50"), "NZD", 3)
    assert subject == "Acme Ltd: INV-0005 NZ$6,957.50 is 3 days overdue"
    assert overdue_subject("A", "1", Decimal(1), "USD", 1).endswith("is 1 day overdue")
    assert parse_steps("14, 1;7") == [1, 7, 14]
    with pytest.raises(ValueError, match="between 1 and 365"):
        parse_steps("0")


def test_times_in_every_form_pipedrive_uses():
    assert parse_time("2026-12-04T10:00:00Z") == NOW
    assert parse_time("2026-12-04 10:00:00") == NOW
    assert parse_time(NOW.timestamp()) == NOW
    assert parse_time(None) is None and parse_time("soon") is None
    facts = facts_of({"id": 5, "status": "won", "value": 10, "currency": "EUR"}, False)
    assert (facts.id, facts.value, facts.has_products) == (5, Decimal(10), False)
