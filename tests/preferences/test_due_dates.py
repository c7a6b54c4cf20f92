"""Every due-date rule at month ends and in leap years."""

from __future__ import annotations

from datetime import date

import pytest

from app.preferences.due_dates import (
    DueRule,
    InvalidTerms,
    Terms,
    apply_terms,
    due_date,
    validate_terms,
)

D = date


@pytest.mark.parametrize(
    ("rule", "days", "issued", "due"),
    [
        # N days after the invoice date
        (DueRule.days_after_invoice, 7, D(2026, 3, 13), D(2026, 3, 20)),
        (DueRule.days_after_invoice, 0, D(2026, 3, 13), D(2026, 3, 13)),
        (DueRule.days_after_invoice, 30, D(2026, 1, 31), D(2026, 3, 2)),
        (DueRule.days_after_invoice, 1, D(2024, 2, 28), D(2024, 2, 29)),
        (DueRule.days_after_invoice, 1, D(2025, 2, 28), D(2025, 3, 1)),
        (DueRule.days_after_invoice, 14, D(2026, 12, 25), D(2027, 1, 8)),
        # N days after the end of the invoice month
        (DueRule.days_after_end_of_month, 20, D(2026, 3, 13), D(2026, 4, 20)),
        (DueRule.days_after_end_of_month, 0, D(2026, 4, 1), D(2026, 4, 30)),
        (DueRule.days_after_end_of_month, 1, D(2024, 2, 10), D(2024, 3, 1)),
        (DueRule.days_after_end_of_month, 1, D(2025, 2, 10), D(2025, 3, 1)),
        (DueRule.days_after_end_of_month, 29, D(2024, 1, 31), D(2024, 2, 29)),
        (DueRule.days_after_end_of_month, 10, D(2026, 12, 31), D(2027, 1, 10)),
        # day N of the current month (never before the invoice date)
        (DueRule.day_of_current_month, 20, D(2026, 3, 13), D(2026, 3, 20)),
        (DueRule.day_of_current_month, 31, D(2026, 4, 2), D(2026, 4, 30)),
        (DueRule.day_of_current_month, 31, D(2024, 2, 2), D(2024, 2, 29)),
        (DueRule.day_of_current_month, 30, D(2025, 2, 2), D(2025, 2, 28)),
        (DueRule.day_of_current_month, 5, D(2026, 3, 20), D(2026, 3, 20)),
        # day N of the following month
        (DueRule.day_of_following_month, 15, D(2026, 3, 13), D(2026, 4, 15)),
        (DueRule.day_of_following_month, 31, D(2026, 1, 31), D(2026, 2, 28)),
        (DueRule.day_of_following_month, 31, D(2024, 1, 31), D(2024, 2, 29)),
        (DueRule.day_of_following_month, 30, D(2026, 3, 31), D(2026, 4, 30)),
        (DueRule.day_of_following_month, 1, D(2026, 12, 31), D(2027, 1, 1)),
        (DueRule.day_of_following_month, 31, D(2026, 11, 30), D(2026, 12, 31)),
    ],
)
def test_rule(rule: DueRule, days: int, issued: date, due: date) -> None:
    assert apply_terms(Terms(rule, days), issued) == due


@pytest.mark.parametrize(
    ("rule", "days", "message"),
    [
        (DueRule.day_of_current_month, 0, "between 1 and 31, not 0"),
        (DueRule.day_of_following_month, 32, "between 1 and 31, not 32"),
        (DueRule.days_after_invoice, 400, "between 0 and 365, not 400"),
        (DueRule.days_after_end_of_month, -1, "between 0 and 365, not -1"),
    ],
)
def test_nonsense_terms_are_refused(rule: DueRule, days: int, message: str) -> None:
    with pytest.raises(InvalidTerms, match=message):
        validate_terms(rule, days)


def test_contact_terms_win_when_chosen_and_known() -> None:
    ours = Terms(DueRule.days_after_invoice, 7)
    theirs = Terms(DueRule.day_of_following_month, 20)
    issued = D(2026, 3, 13)
    assert due_date(issued, ours, use_contact_terms=True, contact_terms=theirs) == D(2026, 4, 20)
    # Not chosen: ours, even though the contact has terms.
    assert due_date(issued, ours, use_contact_terms=False, contact_terms=theirs) == D(2026, 3, 20)
    # Chosen but the contact has none: fall back to ours.
    assert due_date(issued, ours, use_contact_terms=True, contact_terms=None) == D(2026, 3, 20)
