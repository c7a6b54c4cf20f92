"""Bad input, isolation between companies, linking and suggestions, and the checks, through
the JSON API against the sandbox."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import update

from app.connections.models import ProviderConnection
from tests.connections.conftest import XERO_AU
from tests.invoices.helpers import body, create, draft


async def test_unconnected_and_expired_connections_answer_409_with_the_url(
    client, northwind, contoso, sessionmaker
):
    unconnected = await client.get(
        "/api/v1/deals/131/invoice-draft", params={"provider": "xero"}, headers=contoso.headers
    )
    assert unconnected.status_code == 409
    error = unconnected.json()["error"]
    assert error["code"] == "not_connected"
    assert error["reconnect_url"].endswith("/connections/xero/connect")
    async with sessionmaker() as session:
        await session.execute(
            update(ProviderConnection)
            .where(ProviderConnection.company_id == northwind.user.company_id)
            .values(status="needs_reauth", status_reason="refresh token expired")
        )
        await session.commit()
    expired = await client.get(
        "/api/v1/deals/31/invoice-draft",
        params={"provider": "quickbooks"},
        headers=northwind.headers,
    )
    assert expired.status_code == 409
    assert expired.json()["error"]["code"] == "needs_reauth"
    assert expired.json()["error"]["reconnect_url"].endswith("/connections/quickbooks/connect")


async def test_every_route_answers_404_for_another_companys_records(
    client, northwind, contoso, flow
):
    connected = await flow.xero(contoso.user, email="colin@contoso.test", tenant_ids=(XERO_AU,))
    assert connected.status_code in (200, 303), connected.text
    h = contoso.headers
    d = await draft(client, northwind.headers, 31, "xero")
    payload = body(d)
    assert (
        await client.get("/api/v1/deals/31/invoice-draft", params={"provider": "xero"}, headers=h)
    ).status_code == 404
    # Northwind's draft token does not open deal 31 for Contoso either.
    payload["customer"] = {"create": True, "name": "Contoso buyer"}
    payload["currency"] = "AUD"
    for line in payload["lines"]:
        line["tax_code"] = None
        line["item_code"] = None
    payload["tax_mode"] = "NoTax"
    assert (await create(client, h, 31, payload)).status_code == 404
    preview = await client.post("/api/v1/deals/31/invoice-preview", json=payload, headers=h)
    assert preview.status_code == 404
    assert (await client.get("/api/v1/deals/31/invoices", headers=h)).status_code == 404
    assert (
        await client.put(
            "/api/v1/providers/xero/links/products/1", json={"item_id": "x"}, headers=h
        )
    ).status_code == 422  # product ids 1-6 exist in both demo companies
    assert (
        await client.delete("/api/v1/providers/xero/links/products/1", headers=h)
    ).status_code == 404
    assert (
        await client.put(
            "/api/v1/providers/xero/links/organization/11", json={"contact_id": "x"}, headers=h
        )
    ).status_code == 404
    assert (
        await client.delete("/api/v1/providers/xero/links/organization/11", headers=h)
    ).status_code == 404
    # Northwind's own link is untouched and its invoices invisible to Contoso.
    nw = await client.put(
        "/api/v1/providers/xero/links/organization/11",
        json={"contact_id": d.customer.contact.id},
        headers=northwind.headers,
    )
    assert nw.status_code == 200, nw.text
    made = await create(client, northwind.headers, 31, body(d))
    assert made.status_code == 201
    assert (
        await client.delete("/api/v1/providers/xero/links/organization/11", headers=h)
    ).status_code == 404
    assert (await client.get("/api/v1/deals/131/invoices", headers=h)).json() == []
    assert (await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)).json()
    # Creating a contact linked to Northwind's organization is refused for Contoso (product
    # ids 1-6 exist in both demo companies, so an unknown one stands in for items).
    unknown_product = await client.post(
        "/api/v1/providers/xero/items",
        json={"name": "Consulting", "code": "C-1", "crm_product_id": 999},
        headers=h,
    )
    assert unknown_product.status_code == 404
    foreign_contact = await client.post(
        "/api/v1/providers/xero/contacts",
        json={"name": "Acme Ltd", "crm_entity": "organization", "crm_id": 11},
        headers=h,
    )
    assert foreign_contact.status_code == 404
    # Northwind's Xero contact does not exist in Contoso's organisation.
    update = await client.post(
        f"/api/v1/providers/xero/contacts/{d.customer.contact.id}/crm-update",
        json={"email": "x@example.test"},
        headers=h,
    )
    assert update.status_code == 422 and update.json()["error"]["field"] == "contact_id"
    # The provider searches see the caller's own organisation only.
    items = (await client.get("/api/v1/providers/xero/items", headers=h)).json()
    assert "CONS-HR" not in {i["code"] for i in items}


async def test_bad_input_is_422_naming_the_field(client, northwind):
    d = await draft(client, northwind.headers, 31, "xero")
    h = northwind.headers

    async def field_of(payload, key=None):
        response = await create(client, h, 31, payload, key)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        return error.get("field") or str(error)

    bad = body(d)
    bad["lines"][0]["quantity"] = "ten"
    assert "quantity" in await field_of(bad)
    bad = body(d)
    bad["lines"][0]["unit_price"] = "NaN"
    assert "unit_price" in await field_of(bad)
    bad = body(d)
    bad["currency"] = "XYZ"
    assert await field_of(bad) == "currency"
    bad = body(d)
    bad["currency"] = "GBP"  # a real currency, not enabled in the NZ organisation
    response = await create(client, h, 31, bad)
    assert response.status_code == 422
    assert "GBP is not enabled in the Xero organisation" in response.json()["error"]["message"]
    bad = body(d)
    bad["lines"][0]["description"] = "x" * 4001
    assert "description" in await field_of(bad)
    bad = body(d)
    bad["customer"]["contact_id"] = "no-such-contact"
    bad["customer"]["update_contact"] = True
    assert await field_of(bad) == "customer.contact_id"
    bad = body(d)
    bad["lines"][0]["tax_code"] = "INPUT2"
    response = await create(client, h, 31, bad)
    assert response.status_code == 422
    assert "Line 1 (Consulting hour)" in response.json()["error"]["message"]
    assert response.json()["error"]["field"] == "lines[0].tax_code"
    missing_key = await client.post("/api/v1/deals/31/invoices", json=body(d), headers=h)
    assert missing_key.status_code == 422
    assert missing_key.json()["error"]["field"] == "Idempotency-Key"
    unknown_item = await client.put(
        "/api/v1/providers/xero/links/products/1", json={"item_id": "nope"}, headers=h
    )
    assert unknown_item.status_code == 422 and unknown_item.json()["error"]["field"] == "item_id"
    assert (
        await client.put(
            "/api/v1/providers/xero/links/products/999",
            json={"item_id": d.lines[0].item_id},
            headers=h,
        )
    ).status_code == 404
    assert (
        await client.get("/api/v1/deals/31/invoice-draft", params={"provider": "sage"}, headers=h)
    ).status_code == 422


async def test_checks_name_the_line_or_field(client, northwind):
    h = northwind.headers
    d = await draft(client, northwind.headers, 31, "quickbooks")

    async def checks(payload):
        response = await create(client, h, 31, payload)
        assert response.status_code == 422, response.text
        return {
            c["code"]: c for c in response.json()["error"].get("checks", [{"code": response.text}])
        }

    p = body(d)
    p["lines"][1]["item_id"] = None
    p["lines"][1]["item_code"] = None
    found = await checks(p)
    assert found["item_missing"]["field"] == "lines[1].item_id"
    assert "Line 2 (Implementation package)" in found["item_missing"]["message"]
    p = body(d)
    p["currency"] = "EUR"  # Acme Ltd is an NZD customer in QuickBooks
    found = await checks(p)
    assert "currency_mismatch" in found and "NZD" in found["currency_mismatch"]["message"]
    p = body(d)
    p["lines"][0]["quantity"] = "-1"
    found = await checks(p)
    assert found["quantity"]["field"] == "lines[0].quantity"
    p = body(d)
    p["lines"][0]["discount_rate"] = "5"
    assert "line_discount" in await checks(p)
    p = body(d)
    p["global_discount"] = {"amount": "99999"}
    assert "negative_total" in await checks(p)
    p = body(d)
    p["tax_mode"] = "Inclusive"
    assert "tax_mode" in await checks(p)
    # A zero total needs explicit confirmation.
    p = body(d)
    for line in p["lines"]:
        line["unit_price"] = "0"
    found = await checks(p)
    assert found["zero_total"]["severity"] == "confirm"
    p["confirm_zero"] = True
    ok = await create(client, h, 31, p)
    assert ok.status_code == 201, ok.text
    assert Decimal(ok.json()["total"]) == 0
    # Xero accepts description-only lines: a warning in the draft, not a block.
    x = await draft(client, h, 33, "xero")
    hw = next(c for c in x.checks if c.code == "item_missing")
    assert hw.severity == "warning" and "Line 2 (Hardware kit)" in hw.message


async def test_item_suggestions_links_and_contact_links(client, northwind):
    h = northwind.headers
    d = await draft(client, h, 32, "xero")
    by_product = {line.crm_product_id: line for line in d.lines if line.crm_product_id}
    # LIC-ANN: unique code match; SUP-MON: no code match, exact name match.
    assert by_product[3].link_state == "suggested" and by_product[3].item_code == "LIC-ANN"
    assert by_product[5].link_state == "suggested"
    assert by_product[5].item_name == "Support plan (monthly)"
    assert by_product[5].item_code == "SUP-MONTHLY"
    q = await draft(client, h, 32, "quickbooks")
    qp = {line.crm_product_id: line for line in q.lines}
    assert qp[3].item_id == "3" and qp[5].item_id == "4"
    # Linking is remembered per provider and wins over suggestions.
    items = (
        await client.get("/api/v1/providers/xero/items", params={"q": "training"}, headers=h)
    ).json()
    assert [i["code"] for i in items] == ["TRAIN-DAY"]
    linked = await client.put(
        "/api/v1/providers/xero/links/products/5", json={"item_id": items[0]["id"]}, headers=h
    )
    assert linked.status_code == 200, linked.text
    again = await draft(client, h, 32, "xero")
    line = next(x for x in again.lines if x.crm_product_id == 5)
    assert line.link_state == "linked" and line.item_code == "TRAIN-DAY"
    q2 = await draft(client, h, 32, "quickbooks")
    assert next(x for x in q2.lines if x.crm_product_id == 5).link_state == "suggested"
    assert (
        await client.delete("/api/v1/providers/xero/links/products/5", headers=h)
    ).status_code == 204
    back = await draft(client, h, 32, "xero")
    assert next(x for x in back.lines if x.crm_product_id == 5).link_state == "suggested"
    # Contacts: exact name → suggested; link → linked; another contact can be chosen.
    assert d.customer.link_state == "suggested" and d.customer.contact.name == "Globex Corporation"
    soylent = (
        await client.get("/api/v1/providers/xero/contacts", params={"q": "Soylent"}, headers=h)
    ).json()
    assert len(soylent) == 1
    put = await client.put(
        "/api/v1/providers/xero/links/organization/12",
        json={"contact_id": soylent[0]["id"]},
        headers=h,
    )
    assert put.status_code == 200
    linked_draft = await draft(client, h, 32, "xero")
    assert linked_draft.customer.link_state == "linked"
    assert linked_draft.customer.contact.name == "Soylent Corp"
    assert (
        await client.delete("/api/v1/providers/xero/links/organization/12", headers=h)
    ).status_code == 204
    # Products without any match get no suggestion at all (HW-KIT in Xero).
    x = await draft(client, h, 33, "xero")
    hw = next(line for line in x.lines if line.crm_product_id == 6)
    assert hw.link_state == "none" and hw.item_suggestions == []


async def test_create_a_missing_contact_and_update_customer_info(client, northwind):
    h = northwind.headers
    made = await client.post(
        "/api/v1/providers/xero/contacts",
        json={
            "name": "Umbrella Pty",
            "email": "ap@umbrella.test",
            "crm_entity": "organization",
            "crm_id": 14,
        },
        headers={**h, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert made.status_code == 201, made.text
    d = await draft(client, h, 34, "xero")
    assert d.customer.link_state == "linked" and d.customer.contact.id == made.json()["id"]
    preview = await client.post(
        f"/api/v1/providers/xero/contacts/{made.json()['id']}/crm-update",
        json={"email": "billing@umbrella.test", "tax_id": "NZ-999", "address": None},
        headers=h,
    )
    assert preview.status_code == 200
    changes = {c["field"]: c for c in preview.json()["changes"]}
    assert set(changes) == {"email", "tax_id"}
    assert changes["email"]["provider_value"] == "ap@umbrella.test"
    assert preview.json()["applied"] is False
    applied = await client.post(
        f"/api/v1/providers/xero/contacts/{made.json()['id']}/crm-update",
        json={"email": "billing@umbrella.test", "tax_id": "NZ-999", "apply": True},
        headers=h,
    )
    assert applied.json()["applied"] is True
    assert applied.json()["contact"]["email"] == "billing@umbrella.test"
    assert applied.json()["contact"]["tax_number"] == "NZ-999"
    same = await client.post(
        f"/api/v1/providers/xero/contacts/{made.json()['id']}/crm-update",
        json={"email": "BILLING@umbrella.test ", "tax_id": "NZ-999"},
        headers=h,
    )
    assert same.json()["changes"] == []


@pytest.mark.parametrize("provider", ["xero", "quickbooks"])
async def test_create_updates_the_contact_when_chosen(client, northwind, provider):
    h = northwind.headers
    d = await draft(client, h, 31, provider)
    p = body(d, accept_tax_difference=True)
    p["customer"]["update_contact"] = True
    p["customer"]["email"] = "new-billing@acme.test"
    response = await create(client, h, 31, p)
    assert response.status_code == 201, response.text
    contact = (
        await client.get(f"/api/v1/providers/{provider}/contacts", params={"q": "Acme"}, headers=h)
    ).json()
    assert contact[0]["email"] == "new-billing@acme.test"
