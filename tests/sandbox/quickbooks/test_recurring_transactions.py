"""Recurring transactions in the QuickBooks stand-in (lifecycle-and-billing.md §2.3): an
Invoice template with RecurringInfo is created (computed like an invoice, NextDate = its
StartDate), read and deleted; never updated; refused on a company below Essentials."""

from __future__ import annotations

from typing import Any

from tests.sandbox.quickbooks.conftest import REALM, Qbo, fault, invoice_body


def template(**info: Any) -> dict[str, Any]:
    recurring = {
        "Name": "PD-31-1",
        "RecurType": "Automated",
        "Active": True,
        "ScheduleInfo": {
            "IntervalType": "Monthly",
            "NumInterval": 1,
            "DayOfMonth": 1,
            "MaxOccurrences": 12,
            "StartDate": "2026-12-01",
        },
        **info,
    }
    return {"Invoice": {**invoice_body(), "RecurringInfo": recurring}}


async def test_create_read_delete_and_no_update(api: Qbo) -> None:
    made = await api.post("/recurringtransaction", template(), minorversion="75")
    assert made.status_code == 200, made.text
    created = made.json()["Invoice"]
    assert created["TotalAmt"] == 324.75 and created["Id"]
    assert created["RecurringInfo"]["ScheduleInfo"]["NextDate"] == "2026-12-01"
    read = await api.get(f"/recurringtransaction/{created['Id']}")
    assert read.json()["RecurringTransaction"]["Invoice"]["RecurringInfo"]["Name"] == "PD-31-1"
    update = await api.post(
        "/recurringtransaction", {"Invoice": {"Id": created["Id"], "SyncToken": "0"}}
    )
    assert update.status_code == 400
    gone = await api.post(
        "/recurringtransaction",
        {"Invoice": {"Id": created["Id"], "SyncToken": "0"}},
        operation="delete",
    )
    assert gone.status_code == 200 and gone.json()["Invoice"] == {"Id": created["Id"]}
    assert (await api.get(f"/recurringtransaction/{created['Id']}")).status_code == 400


async def test_bad_schedules_and_the_offering_rule(api: Qbo) -> None:
    weekly = template(ScheduleInfo={"IntervalType": "Fortnightly", "StartDate": "2026-12-01"})
    refused = await api.post("/recurringtransaction", weekly)
    assert refused.status_code == 400 and "IntervalType" in fault(refused)["Detail"]
    realm = api.sandbox.store.get("qbo:realm", REALM)
    realm["CompanyInfo"]["NameValue"] = [
        {"Name": "OfferingSku", "Value": "QuickBooks Online Simple Start"}
    ]
    api.sandbox.store.put("qbo:realm", REALM, realm)
    simple = await api.post("/recurringtransaction", template())
    assert simple.status_code == 400 and "Essentials, Plus or Advanced" in fault(simple)["Detail"]
