"""Pure rules: derived status, totals, the query parser."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sandbox.quickbooks.api import query
from sandbox.quickbooks.errors import QboFault
from sandbox.quickbooks.rules import derive_status, totals

TODAY = date(2026, 3, 20)


@pytest.mark.parametrize(
    ("invoice", "status"),
    [
        ({"TotalAmt": 100, "Balance": 100, "DueDate": "2026-03-20"}, "Open"),
        ({"TotalAmt": 100, "Balance": 100, "DueDate": "2026-03-19"}, "Overdue"),
        ({"TotalAmt": 100, "Balance": 40, "DueDate": "2026-03-01"}, "Partially paid"),
        ({"TotalAmt": 100, "Balance": 0, "DueDate": "2026-03-01"}, "Paid"),
        ({"TotalAmt": 0, "Balance": 0, "PrivateNote": "Voided", "_voided": True}, "Voided"),
    ],
)
def test_derived_status(invoice: dict[str, object], status: str) -> None:
    assert derive_status(invoice, TODAY) == status


def line(amount: str, code: str = "TAX") -> dict[str, object]:
    return {
        "Amount": amount,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"TaxCodeRef": {"value": code}},
    }


def test_tax_is_rounded_once_on_the_taxable_total() -> None:
    rates = {"TAX": Decimal("8.25"), "NON": Decimal("0")}
    result = totals(
        [line("0.10"), line("0.10"), line("0.10"), line("5", "NON")],
        rates,
        apply_tax_after_discount=False,
        explicit_tax=None,
    )
    # 0.30 x 8.25 % = 0.02475 -> 0.02; rounding each line (0.00825 -> 0.01) would give 0.03.
    assert result.tax == Decimal("0.02")
    assert result.total == Decimal("5.32")


def test_explicit_total_tax_is_honoured() -> None:
    result = totals(
        [line("100")],
        {"TAX": Decimal("8.25")},
        apply_tax_after_discount=False,
        explicit_tax=Decimal("7"),
    )
    assert result.tax == Decimal("7.00") and result.total == Decimal("107.00")


def test_query_parser_shapes() -> None:
    parsed = query.parse(
        "select count(*) from Invoice where DocNumber in ('1', '2') and PrivateNote like '%a%' "
        "orderby TxnDate desc, Id startposition 5 maxresults 5000"
    )
    assert parsed.count and parsed.entity == "Invoice"
    assert [(c.field, c.op) for c in parsed.where] == [("DocNumber", "IN"), ("PrivateNote", "LIKE")]
    assert parsed.order == [("TxnDate", True), ("Id", False)]
    assert (parsed.start, parsed.max_results) == (5, 1000)
    with pytest.raises(QboFault):
        query.parse("SELECT * FROM Invoice WHERE")
