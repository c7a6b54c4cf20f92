"""The Xero stand-in's credit notes and allocations (lifecycle-and-billing.md §1.1), every
request and JSON answer validated against Xero's official spec (the ``http`` fixture fails the
test on any violation): a credit note is numbered and keeps its RemainingCredit; an
allocation lowers the invoice's AmountDue, raises AmountCredited, lists the note under the
invoice's CreditNotes, pays the invoice at 0 and then blocks its void; the rules refuse
over-allocation, another contact, a draft invoice and an unapproved note."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tests.support.xero_spec import require_spec


@pytest.fixture(autouse=True)
def _spec_required() -> None:
    require_spec()


async def contact(xero: Any, name: str) -> str:
    made = await xero.put(
        "/Contacts", {"Contacts": [{"Name": name}]}, params={"summarizeErrors": "false"}
    )
    return str(made.json()["Contacts"][0]["ContactID"])


def lines(amount: float) -> list[dict[str, Any]]:
    return [
        {
            "Description": "Consulting",
            "Quantity": 1,
            "UnitAmount": amount,
            "AccountCode": "200",
            "TaxType": "OUTPUT2",
        }
    ]


async def approved_invoice(xero: Any, contact_id: str, amount: float) -> dict[str, Any]:
    made = await xero.put(
        "/Invoices",
        {
            "Invoices": [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": contact_id},
                    "Date": "2026-03-13",
                    "DueDate": "2026-03-20",
                    "LineAmountTypes": "Exclusive",
                    "Status": "AUTHORISED",
                    "LineItems": lines(amount),
                }
            ]
        },
        params={"summarizeErrors": "false"},
    )
    found: dict[str, Any] = made.json()["Invoices"][0]
    assert not found.get("HasErrors"), found
    return found


async def credit_note(
    xero: Any, contact_id: str, amount: float, status: str = "AUTHORISED", key: str | None = None
) -> dict[str, Any]:
    made = await xero.put(
        "/CreditNotes",
        {
            "CreditNotes": [
                {
                    "Type": "ACCRECCREDIT",
                    "Contact": {"ContactID": contact_id},
                    "Date": "2026-03-14",
                    "Status": status,
                    "LineAmountTypes": "Exclusive",
                    "Reference": "Credit for INV",
                    "LineItems": lines(amount),
                }
            ]
        },
        params={"summarizeErrors": "false", "unitdp": "4"},
        headers={"Idempotency-Key": key} if key else {},
    )
    assert made.status_code == 200, made.text
    found: dict[str, Any] = made.json()["CreditNotes"][0]
    return found


async def allocate(xero: Any, note_id: str, invoice_id: str, amount: float) -> Any:
    return await xero.put(
        f"/CreditNotes/{note_id}/Allocations",
        {
            "Allocations": [
                {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": "2026-03-14"}
            ]
        },
        params={"summarizeErrors": "false"},
    )


def errors_of(response: Any, plural: str) -> list[str]:
    element = response.json()[plural][0]
    return [e["Message"] for e in element.get("ValidationErrors", [])]


async def test_allocation_credits_the_invoice_and_pays_it_at_zero(xero, http, recorder):
    who = await contact(xero, "Credit Co")
    invoice = await approved_invoice(xero, who, 100)  # 115.00 with 15 % GST
    note = await credit_note(xero, who, 40)  # 46.00
    assert note["CreditNoteNumber"].startswith("CN-") and note["Status"] == "AUTHORISED"
    assert D(str(note["Total"])) == D("46.00") == D(str(note["RemainingCredit"]))
    done = await allocate(xero, note["CreditNoteID"], invoice["InvoiceID"], 46)
    assert done.status_code == 200 and not errors_of(done, "Allocations"), done.text
    read = (await xero.get(f"/Invoices/{invoice['InvoiceID']}")).json()["Invoices"][0]
    assert D(str(read["AmountCredited"])) == D("46.00") and D(str(read["AmountDue"])) == D("69.00")
    assert [c["CreditNoteID"] for c in read["CreditNotes"]] == [note["CreditNoteID"]]
    paid_note = (await xero.get(f"/CreditNotes/{note['CreditNoteID']}")).json()["CreditNotes"][0]
    assert paid_note["Status"] == "PAID" and D(str(paid_note["RemainingCredit"])) == 0
    # The rest of the invoice by a second note: PAID at 0, and no longer voidable.
    rest = await credit_note(xero, who, 60)  # 69.00
    assert (await allocate(xero, rest["CreditNoteID"], invoice["InvoiceID"], 69)).status_code == 200
    read = (await xero.get(f"/Invoices/{invoice['InvoiceID']}")).json()["Invoices"][0]
    assert read["Status"] == "PAID" and D(str(read["AmountDue"])) == 0
    path = f"/Invoices/{invoice['InvoiceID']}"
    void = await xero.post(path, {"Invoices": [{"Status": "VOIDED"}]})
    assert void.status_code == 400
    assert recorder.checked_responses >= 8


async def test_allocation_rules(xero, http, recorder):
    who, other = await contact(xero, "Rule Co"), await contact(xero, "Other Co")
    invoice = await approved_invoice(xero, who, 10)  # 11.50
    note = await credit_note(xero, who, 20)  # 23.00
    over = await allocate(xero, note["CreditNoteID"], invoice["InvoiceID"], 12)
    assert errors_of(over, "Allocations") == [
        "The amount allocated is greater than the amount outstanding on the invoice"
    ]
    theirs = await credit_note(xero, other, 5)
    wrong = await allocate(xero, theirs["CreditNoteID"], invoice["InvoiceID"], 1)
    assert "same contact" in errors_of(wrong, "Allocations")[0]
    draft_note = await credit_note(xero, who, 5, status="DRAFT")
    unapproved = await allocate(xero, draft_note["CreditNoteID"], invoice["InvoiceID"], 1)
    assert "AUTHORISED credit note" in errors_of(unapproved, "Allocations")[0]
    bad_type = await xero.put(
        "/CreditNotes",
        {"CreditNotes": [{"Contact": {"ContactID": who}, "LineItems": lines(1)}]},
        params={"summarizeErrors": "false"},
    )
    assert "ACCRECCREDIT" in errors_of(bad_type, "CreditNotes")[0]
    read = (await xero.get(f"/Invoices/{invoice['InvoiceID']}")).json()["Invoices"][0]
    assert D(str(read["AmountDue"])) == D("11.50") and not read.get("CreditNotes")


async def test_a_repeated_key_replays_the_credit_note(xero, http, recorder):
    who = await contact(xero, "Replay Co")
    first = await credit_note(xero, who, 10, key="credit-key-1")
    again = await credit_note(xero, who, 10, key="credit-key-1")
    assert first["CreditNoteID"] == again["CreditNoteID"]
