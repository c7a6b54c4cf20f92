"""Deposits, milestones and the balance through our JSON API, the sandbox Xero and QuickBooks:
the parts add up to the deal to the cent, each part is its own intent, and nothing
over-invoices a deal without a confirmation."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from app.tenants.models import CrmUser
from tests.invoices.helpers import body, create, draft


async def billing(client, headers, deal_id):
    response = await client.get(f"/api/v1/deals/{deal_id}/billing", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def line_total(invoice):
    return sum(
        Decimal(str(line["unit_price"])) * Decimal(str(line["quantity"])) for line in invoice
    )


@pytest.mark.parametrize(("provider", "deal_id"), [("xero", 31), ("quickbooks", 31), ("xero", 32)])
async def test_deposit_then_balance_add_up_to_the_deal(client, northwind, provider, deal_id):
    d = await draft(client, northwind.headers, deal_id, provider)
    key = str(uuid.uuid4())
    deposit = body(d, part={"percent": "30"})
    first = await create(client, northwind.headers, deal_id, deposit, key)
    assert first.status_code == 201, first.text
    # A double click on the deposit is one invoice.
    again = await create(client, northwind.headers, deal_id, deposit, key)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    seen = await billing(client, northwind.headers, deal_id)
    deal = Decimal(seen["deal_amount"])
    assert deal > 0
    assert Decimal(seen["invoiced"]) == (deal * Decimal("0.3")).quantize(Decimal("0.01"))
    assert Decimal(seen["remaining"]) == deal - Decimal(seen["invoiced"])
    assert [p["label"] for p in seen["parts"]] == ["Deposit 30 %"]
    assert seen["parts"][0]["status_label"]
    # The balance from the same opening of the dialog is a second intent, not a repeat.
    last = await create(client, northwind.headers, deal_id, body(d, part={"balance": True}), key)
    assert last.status_code == 201, last.text
    assert last.json()["id"] != first.json()["id"]
    done = await billing(client, northwind.headers, deal_id)
    assert Decimal(done["invoiced"]) == deal and Decimal(done["remaining"]) == 0
    assert [p["label"] for p in done["parts"]] == ["Deposit 30 %", "Balance"]
    # The provider's own amounts: the two invoices' net amounts add up to the deal.
    net = [
        Decimal(i["total"]) - Decimal(i["tax"])
        if d.details.tax_mode.value != "Inclusive"
        else Decimal(i["total"])
        for i in (first.json(), last.json())
    ]
    assert sum(net) == deal
    # Nothing is left: another balance is refused in words.
    none_left = await create(client, northwind.headers, deal_id, body(d, part={"balance": True}))
    assert none_left.status_code == 422
    assert "Nothing is left" in none_left.json()["error"]["message"]


async def test_over_invoicing_needs_a_confirmation(client, northwind):
    d = await draft(client, northwind.headers, 31, "xero")
    assert (
        await create(client, northwind.headers, 31, body(d, part={"percent": 80}))
    ).status_code == 201
    seen = await billing(client, northwind.headers, 31)
    over = body(d, part={"percent": 30, "label": "Milestone 2"})
    refused = await create(client, northwind.headers, 31, over)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "over_invoice" and error["field"] == "part.percent"
    remaining = Decimal(seen["remaining"])
    assert error["remaining"] == str(remaining)
    assert f"{remaining:,.2f}" in error["message"] and "confirm" in error["message"]
    # Nothing was recorded for the refused part.
    assert len((await billing(client, northwind.headers, 31))["parts"]) == 1
    over["part"]["confirm_over"] = True
    confirmed = await create(client, northwind.headers, 31, over)
    assert confirmed.status_code == 201, confirmed.text
    after = await billing(client, northwind.headers, 31)
    assert Decimal(after["remaining"]) < 0
    assert [p["label"] for p in after["parts"]] == ["Deposit 80 %", "Milestone 2"]


async def test_amounts_in_the_users_locale_and_bad_parts(client, northwind, sessionmaker):
    async with sessionmaker() as session:
        user = await session.get(CrmUser, northwind.user.id)
        user.locale = "de_DE"
        await session.commit()
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d, part={"amount": "1.000,50"}))
    assert made.status_code == 201, made.text
    seen = await billing(client, northwind.headers, 31)
    assert Decimal(seen["invoiced"]) == Decimal("1000.50")
    for part, field in [
        ({"amount": "1,000.50"}, "part.amount"),
        ({"amount": "10.505"}, "part.amount"),
        ({"percent": 0}, "part.percent"),
        ({"percent": 30, "balance": True}, None),
        ({}, None),
    ]:
        payload = body(d)
        payload["part"] = part
        refused = await create(client, northwind.headers, 31, payload)
        assert refused.status_code == 422, (part, refused.text)
        if field:
            assert refused.json()["error"]["field"] == field, refused.text


async def test_billing_is_404_for_another_companys_deal(client, northwind, contoso):
    assert (
        await client.get("/api/v1/deals/31/billing", headers=contoso.headers)
    ).status_code == 404
    assert (
        await client.get("/api/v1/deals/31/billing", headers=northwind.headers)
    ).status_code == 200
    d = await draft(client, northwind.headers, 31, "xero")
    refused = await create(client, contoso.headers, 31, body(d, part={"percent": 30}))
    assert refused.status_code == 404


async def test_pipedrive_installments_are_offered_as_the_parts(client, northwind, sandbox):
    await sandbox.http.post("/_sandbox/pipedrive/companies/7001/limits", json={"plan": "growth"})
    for description, amount, when in [
        ("Deposit", 500, "2026-01-15"),
        ("Go-live", 250.5, "2026-03-01"),
    ]:
        added = await sandbox.http.post(
            "/_sandbox/pipedrive/deals/31/installments",
            json={"description": description, "amount": amount, "billing_date": when},
        )
        assert added.status_code == 201, added.text
    offered = (await billing(client, northwind.headers, 31))["installments"]
    assert [(i["description"], Decimal(i["amount"])) for i in offered] == [
        ("Deposit", Decimal(500)),
        ("Go-live", Decimal("250.5")),
    ]
    assert all(i["invoice_id"] is None for i in offered)
    d = await draft(client, northwind.headers, 31, "xero")
    part = {"amount": offered[0]["amount"], "label": "Deposit", "installment_id": offered[0]["id"]}
    made = await create(client, northwind.headers, 31, body(d, part=part))
    assert made.status_code == 201, made.text
    seen = await billing(client, northwind.headers, 31)
    assert seen["installments"][0]["invoice_id"] == made.json()["id"]
    assert seen["installments"][1]["invoice_id"] is None
    assert Decimal(seen["invoiced"]) == Decimal(500)
    assert Decimal(made.json()["total"]) - Decimal(made.json()["tax"]) == Decimal(500)


async def test_no_installments_below_growth(client, northwind):
    # Lite plans have none: the parts are typed by hand, and billing still answers.
    assert (await billing(client, northwind.headers, 31))["installments"] == []


async def test_a_burst_of_clicks_on_one_part_is_one_invoice(client, northwind, sandbox):
    d = await draft(client, northwind.headers, 31, "quickbooks")
    await sandbox.clear_requests()
    key = str(uuid.uuid4())
    payload = body(d, part={"percent": "30", "label": "Deposit"})
    answers = await asyncio.gather(
        *(create(client, northwind.headers, 31, payload, key) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    posts = [
        r
        for r in await sandbox.requests()
        if r.get("method") == "POST" and r.get("path", "").endswith("/invoice")
    ]
    assert len(posts) == 1
    assert len((await billing(client, northwind.headers, 31))["parts"]) == 1


async def test_a_repeated_deposit_answers_with_it_after_the_balance(client, northwind):
    d = await draft(client, northwind.headers, 31, "xero")
    key = str(uuid.uuid4())
    deposit = body(d, part={"percent": 30})
    first = await create(client, northwind.headers, 31, deposit, key)
    last = await create(client, northwind.headers, 31, body(d, part={"balance": True}))
    extra = await create(
        client, northwind.headers, 31, body(d, part={"percent": 10, "confirm_over": True})
    )
    assert first.status_code == 201 and last.status_code == 201 and extra.status_code == 201
    # Less than the deposit is left now (over-invoiced, confirmed), yet the deposit's retry
    # is the same invoice, not a refusal.
    again = await create(client, northwind.headers, 31, deposit, key)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    changed = await create(
        client, northwind.headers, 31, body(d, part={"percent": 30}, reference="x"), key
    )
    assert changed.status_code == 409
