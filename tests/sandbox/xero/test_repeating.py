"""The Xero stand-in's repeating invoices (lifecycle-and-billing.md §1.3), every request and
JSON answer validated against Xero's official spec: created as a DRAFT template, never edited
(only deleted), WEEKLY or MONTHLY only; as the sandbox clock passes each NextScheduledDate a
DRAFT invoice carrying the template's RepeatingInvoiceID appears, up to the EndDate, once."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.sandbox.xero.test_credit_notes import contact, errors_of, lines
from tests.support.sandbox import SandboxControl
from tests.support.xero_spec import require_spec


@pytest.fixture(autouse=True)
def _spec_required() -> None:
    require_spec()


def template(contact_id: str, start: date, **schedule: Any) -> dict[str, Any]:
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Status": "DRAFT",
        "LineAmountTypes": "Exclusive",
        "Reference": "Support plan",
        "LineItems": lines(99),
        "Schedule": {
            "Period": 1,
            "Unit": "MONTHLY",
            "DueDate": 20,
            "DueDateType": "DAYSAFTERBILLDATE",
            "StartDate": start.isoformat(),
            **schedule,
        },
    }


async def test_a_monthly_draft_template_generates_until_its_end(xero, http, recorder):
    who = await contact(xero, "Repeat Co")
    today = date.fromisoformat((await http.get("/_sandbox/clock")).json()["now"][:10])
    end = today + timedelta(days=70)
    made = await xero.put(
        "/RepeatingInvoices",
        {"RepeatingInvoices": [template(who, today, EndDate=end.isoformat())]},
        params={"summarizeErrors": "false"},
    )
    assert made.status_code == 200, made.text
    rep = made.json()["RepeatingInvoices"][0]
    assert not rep.get("ValidationErrors") and rep["Status"] == "DRAFT"
    control = SandboxControl(http)
    counts = []
    for _ in range(4):
        listed = await xero.get("/Invoices", params={"ContactIDs": who})
        assert listed.status_code == 200, listed.text
        counts.append(len(listed.json()["Invoices"]))
        # A month on (within the refresh token's 60 days), with a fresh access token.
        await control.advance(31 * 24 * 3600)
        refreshed = await xero.refresh()
        assert refreshed.status_code == 200, refreshed.text
        xero.tokens = refreshed.json()
    assert counts == [1, 2, 3, 3]
    made_ones = listed.json()["Invoices"]
    # Start, +1 and +2 months fall within 70 days; the 4th month does not.
    assert len(made_ones) == 3
    assert {i["RepeatingInvoiceID"] for i in made_ones} == {rep["RepeatingInvoiceID"]}
    assert {i["Status"] for i in made_ones} == {"DRAFT"}
    edit = await xero.post(
        f"/RepeatingInvoices/{rep['RepeatingInvoiceID']}",
        {"RepeatingInvoices": [{"Reference": "changed"}]},
        params={"summarizeErrors": "false"},
    )
    refused = errors_of(edit, "RepeatingInvoices")
    assert refused == ["Repeating invoice status must be set to DELETED"]
    gone = await xero.post(
        f"/RepeatingInvoices/{rep['RepeatingInvoiceID']}",
        {"RepeatingInvoices": [{"Status": "DELETED"}]},
    )
    assert gone.status_code == 200 and gone.json()["RepeatingInvoices"][0]["Status"] == "DELETED"


async def test_only_weekly_or_monthly(xero, http, recorder):
    who = await contact(xero, "Unit Co")
    bad = await xero.put(
        "/RepeatingInvoices",
        {"RepeatingInvoices": [template(who, date(2026, 1, 1), Period=0)]},
        params={"summarizeErrors": "false"},
    )
    assert "Period" in errors_of(bad, "RepeatingInvoices")[0]
    listed = await xero.get("/RepeatingInvoices")
    assert listed.status_code == 200 and listed.json()["RepeatingInvoices"] == []
