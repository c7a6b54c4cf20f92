"""The draft builder on every seeded deal shape, for both providers, and the totals it previews
equal to what the sandbox computes once the invoice is created."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.invoices.helpers import body, create, draft

PROVIDERS = ["xero", "quickbooks"]


def codes(d):
    return {c.code for c in d.checks}


async def created_matches(client, headers, deal_id, d, **over):
    # The seeded QuickBooks company is in the US (TAX at 8.25 %) and the deals carry 15 % or
    # 19 %: the tax difference is shown (tax_differs) and confirmed, as a user would.
    over.setdefault("accept_tax_difference", True)
    response = await create(client, headers, deal_id, body(d, **over))
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["status"] == "created"
    return out


def same_totals(out, totals):
    assert Decimal(out["total"]) == totals.total
    assert Decimal(out["tax"]) == totals.tax


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_percentage_and_amount_line_discounts_exclusive_tax(client, northwind, provider):
    d = await draft(client, northwind.headers, 31, provider)
    assert d.details.currency == "NZD" and d.details.tax_mode.value == "Exclusive"
    assert d.details.reference == "Acme rollout"
    assert d.details.deal_url.endswith("/deal/31")
    # Xero: the organisation's default branding theme; QuickBooks has no templates.
    assert (d.details.template_id is not None) == (provider == "xero")
    assert d.customer.to == "Acme Ltd" and d.customer.contact is not None
    assert [line.item_code for line in d.lines] == ["CONS-HR", "IMPL-PKG", "LIC-ANN"]
    assert [line.amount for line in d.lines] == [
        Decimal("1350.00"),
        Decimal("2300.00"),
        Decimal("2400.00"),
    ]
    if provider == "xero":
        assert d.lines[0].discount_rate == Decimal("10")
        assert d.lines[1].discount_amount == Decimal("200")
        assert {line.tax_code for line in d.lines} == {"OUTPUT2"}
    else:
        # QuickBooks has no line discounts: folded into the unit price, said in the note.
        assert d.lines[0].unit_price == Decimal("135") and d.lines[0].discount_rate is None
        assert "discount" in (d.lines[1].note or "")
        assert {line.tax_code for line in d.lines} == {"TAX"}
    assert d.totals.subtotal == Decimal("6050.00")
    assert not [c for c in d.checks if c.severity == "error"]
    out = await created_matches(client, northwind.headers, 31, d)
    same_totals(out, d.totals)
    assert Decimal(out["subtotal"]) == d.totals.subtotal


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_inclusive_tax_and_a_deal_percentage_discount(client, northwind, provider):
    d = await draft(client, northwind.headers, 32, provider)
    assert d.details.currency == "USD"
    if provider == "xero":
        assert d.details.tax_mode.value == "Inclusive"
        discount = [line for line in d.lines if line.kind == "deal_discount"]
        assert len(discount) == 1 and discount[0].unit_price == Decimal("-359.40")
        assert d.global_discount is None
        out = await created_matches(client, northwind.headers, 32, d)
        same_totals(out, d.totals)
        assert d.totals.total == Decimal("6828.60")
    else:
        assert d.global_discount is not None and d.global_discount.rate == Decimal("5")
        # QuickBooks US takes no tax-inclusive amounts: the draft proposes the exclusive
        # equivalent (15 % taken out, to the cent) instead of a mode its own check refuses.
        assert d.details.tax_mode.value == "Exclusive"
        assert "tax_mode" not in codes(d) and "tax_inclusive_converted" in codes(d)
        assert not [c for c in d.checks if c.severity == "error"]
        licence, support = d.lines
        # 5 x 1200 = 6000 incl. 15 % → 5217.39; 5 x 1043.48 would be 5217.40, so 1 x 5217.39.
        assert (licence.quantity, licence.unit_price) == (Decimal("1"), Decimal("5217.39"))
        assert "5 x 1200 incl. 15 % tax" in licence.description
        assert support.quantity * support.unit_price == Decimal("1033.04")
        out = await created_matches(client, northwind.headers, 32, d)
        same_totals(out, d.totals)
        # The invoice's subtotal is net of its discount line.
        assert Decimal(out["subtotal"]) == d.totals.subtotal - d.totals.discount


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_two_tax_rates_and_a_deal_amount_discount_in_a_foreign_currency(
    client, northwind, provider
):
    d = await draft(client, northwind.headers, 33, provider)
    assert d.details.currency == "EUR"
    if provider == "xero":
        # The NZ organisation has no 19 % sales rate: named, with the line.
        unmapped = [c for c in d.checks if c.code == "tax_unmapped"]
        assert unmapped and "Line 1 (Training day)" in unmapped[0].message
        assert "19" in unmapped[0].message
        assert d.lines[1].tax_code in ("NONE", "ZERORATEDOUTPUT")
        assert d.lines[1].link_state == "none"  # HW-KIT has no Xero item
        discount = [line for line in d.lines if line.kind == "deal_discount"]
        assert sum(-line.unit_price for line in discount) == Decimal("100")
        # The user picks 15 % for the training line (and its share of the deal discount).
        lines = [
            line.model_copy(update={"tax_code": "OUTPUT2"}) if line.tax_code is None else line
            for line in d.lines
        ]
        fixed = d.model_copy(update={"lines": lines})
        # The preview with the chosen rate, as the dialog recomputes it.
        from app.invoices.flows import reviewed

        payload = body(fixed, accept_tax_difference=True)
        live = await client.post(
            "/api/v1/deals/33/invoice-preview", json=payload, headers=northwind.headers
        )
        assert live.status_code == 200, live.text
        assert not [c for c in live.json()["checks"] if c["severity"] == "error"]
        response = await create(client, northwind.headers, 33, payload)
        assert response.status_code == 201, response.text
        out = response.json()
        # 2700 + 699.90 = 3399.90; discount 100 split 79.41 / 20.59.
        assert Decimal(out["subtotal"]) == Decimal("3299.90")
        # The live preview said what Xero then computed.
        assert Decimal(out["total"]) == Decimal(live.json()["totals"]["total"])
        assert Decimal(out["tax"]) == Decimal(live.json()["totals"]["tax"])
        assert reviewed(fixed).currency == "EUR"
    else:
        assert d.global_discount is not None and d.global_discount.amount == Decimal("100")
        assert [line.tax_code for line in d.lines] == ["TAX", "NON"]
        assert d.customer.contact is not None and d.customer.contact.currency == "EUR"
        assert {line.link_state for line in d.lines} == {"none"}
        # One click creates each missing item and links the product to it.
        for line in d.lines:
            made = await client.post(
                "/api/v1/providers/quickbooks/items",
                json={
                    "name": line.description,
                    "unit_price": str(line.unit_price),
                    "crm_product_id": line.crm_product_id,
                },
                headers=northwind.headers,
            )
            assert made.status_code == 201, made.text
        d = await draft(client, northwind.headers, 33, provider)
        assert {line.link_state for line in d.lines} == {"linked"}
        out = await created_matches(client, northwind.headers, 33, d)
        same_totals(out, d.totals)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_no_products_takes_manual_lines(client, northwind, provider):
    d = await draft(client, northwind.headers, 34, provider)
    assert d.lines == []
    assert "no_products" in codes(d)
    assert d.customer.to == "Umbrella Pty" or d.customer.to.startswith("Umbrella")
    assert d.customer.contact is None  # no such contact: it will be created
    manual = {
        "description": "Advisory workshop",
        "quantity": "2",
        "unit_price": "500",
        "tax_code": "OUTPUT2" if provider == "xero" else "TAX",
        "kind": "manual",
    }
    if provider == "quickbooks":
        manual["item_id"] = "6"  # Services
    payload = body(d)
    payload["lines"] = [manual]
    response = await create(client, northwind.headers, 34, payload)
    assert response.status_code == 201, response.text
    out = response.json()
    assert Decimal(out["subtotal"]) == Decimal("1000.00")
    assert out["contact_name"].startswith("Umbrella")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_no_organization_no_person_and_no_tax(client, northwind, provider):
    d = await draft(client, northwind.headers, 35, provider)
    assert d.customer.to is None and d.customer.contact is None
    assert "contact_missing" in codes(d)
    assert d.details.tax_mode.value == "NoTax"
    assert d.lines[0].tax_code is None
    payload = body(d)
    assert payload["customer"]["create"] is False and payload["customer"]["contact_id"] is None
    refused = await create(client, northwind.headers, 35, payload)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "customer"
    payload["customer"] = {"create": True, "name": f"Walk-in customer {provider}"}
    response = await create(client, northwind.headers, 35, payload)
    assert response.status_code == 201, response.text
    out = response.json()
    assert Decimal(out["total"]) == d.totals.total == Decimal("150.00")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_deleted_and_unknown_deals(client, northwind, provider):
    gone = await client.get(
        "/api/v1/deals/36/invoice-draft", params={"provider": provider}, headers=northwind.headers
    )
    assert gone.status_code == 404
    message = gone.json()["error"]["message"]
    assert "Deal 36" in message and ("deleted" in message or "not found" in message)
    missing = await client.get(
        "/api/v1/deals/999/invoice-draft", params={"provider": provider}, headers=northwind.headers
    )
    assert missing.status_code == 404


async def test_the_company_preferences_shape_the_draft(client, northwind):
    saved = await client.put(
        "/api/v1/preferences/xero",
        json={
            "mapping": {"to": {"entity": "organization", "key": "name"}},
            "due_terms": {"rule": "days_after_invoice", "days": 7, "use_contact_terms": False},
            "defaults": {
                "tax_mode": "exclusive",
                "tax_rate": "ZERORATEDOUTPUT",
                "revenue_account": "260",
                "template": "Special Projects",
                "reference_template": "{deal_title} ({deal_id})",
            },
        },
        headers=northwind.headers,
    )
    assert saved.status_code == 200, saved.text
    d = await draft(client, northwind.headers, 33, "xero")
    assert (d.details.due_date - d.details.issue_date).days == 7
    assert d.details.reference == "Initech training (33)"
    assert d.details.template_id is not None
    hw = next(line for line in d.lines if line.crm_product_id == 6)
    assert hw.tax_code == "ZERORATEDOUTPUT"  # the preferred 0 % rate among the two
    assert hw.account_code == "260"  # description-only line books to the sales account
    plain = await draft(client, northwind.headers, 31, "xero")
    response = await create(client, northwind.headers, 31, body(plain))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_missing_deal_is_named_even_when_its_discounts_fail_first(
    client, northwind, contoso, sandbox, provider
):
    # The deal's own read answers last, so a builder raising whichever read fails first would
    # report Pipedrive's ".../discounts" error text instead of the deal.
    await sandbox.fault(kind="latency", path=r"/api/v2/deals/(999|31)$", latency_ms=300)
    missing = await client.get(
        "/api/v1/deals/999/invoice-draft", params={"provider": provider}, headers=northwind.headers
    )
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["message"] == "Deal 999 was not found in Pipedrive."
    assert error["field"] == "deal_id"
    # Deal 31 is Northwind's: Contoso's Pipedrive has no such deal.
    foreign = await client.get(
        "/api/v1/deals/31/invoice-draft", params={"provider": provider}, headers=contoso.headers
    )
    assert foreign.status_code == 404
    assert foreign.json()["error"]["message"] == "Deal 31 was not found in Pipedrive."
    await sandbox.fault(kind="latency", path=r"/api/v2/deals/36$", latency_ms=300)
    gone = await client.get(
        "/api/v1/deals/36/invoice-draft", params={"provider": provider}, headers=northwind.headers
    )
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "deal_deleted"
    assert gone.json()["error"]["message"] == "Deal 36 was deleted in Pipedrive."
