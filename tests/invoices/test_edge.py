"""Our own bad input is refused at the edge: a 422 naming the field, and not one call to
Pipedrive or the provider (the sandbox's request log stays empty)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.invoices.helpers import body, draft

BAD_DEAL_IDS = ["0", "-170", "9223372036854775808", "1.5", "abc"]


async def refused_without_calls(sandbox, response, field):
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["field"] == field, error
    assert field.split(".")[-1] in error["message"]
    assert await sandbox.requests() == []


@pytest.mark.parametrize("deal_id", BAD_DEAL_IDS)
async def test_bad_deal_ids_never_reach_pipedrive(client, northwind, sandbox, deal_id):
    h = northwind.headers
    payload = body(await draft(client, h, 31, "xero"))
    await sandbox.clear_requests()
    base = f"/api/v1/deals/{deal_id}"
    for response in (
        await client.get(f"{base}/invoices", headers=h),
        await client.get(f"{base}/invoice-draft", params={"provider": "xero"}, headers=h),
        await client.post(f"{base}/invoice-preview", json=payload, headers=h),
        await client.post(f"{base}/invoices", json=payload, headers={**h, "Idempotency-Key": "k"}),
        await client.post(f"{base}/invoices/refresh", headers=h),
    ):
        await refused_without_calls(sandbox, response, "deal_id")


@pytest.mark.parametrize("product_id", ["0", "-262143"])
async def test_bad_product_ids_never_reach_pipedrive(client, northwind, sandbox, product_id):
    h = northwind.headers
    url = f"/api/v1/providers/quickbooks/links/products/{product_id}"
    await sandbox.clear_requests()
    await refused_without_calls(
        sandbox, await client.put(url, json={"item_id": "1"}, headers=h), "product_id"
    )
    await refused_without_calls(sandbox, await client.delete(url, headers=h), "product_id")


async def test_bad_crm_ids_in_bodies_never_reach_pipedrive(client, northwind, sandbox):
    h = northwind.headers
    await sandbox.clear_requests()
    contact = {"name": "Someone", "crm_entity": "person", "crm_id": -3}
    await refused_without_calls(
        sandbox,
        await client.post("/api/v1/providers/quickbooks/contacts", json=contact, headers=h),
        "crm_id",
    )
    item = {"name": "Widget", "crm_product_id": 0}
    await refused_without_calls(
        sandbox,
        await client.post("/api/v1/providers/xero/items", json=item, headers=h),
        "crm_product_id",
    )
    link = await client.put(
        "/api/v1/providers/xero/links/person/-1", json={"contact_id": "x"}, headers=h
    )
    await refused_without_calls(sandbox, link, "crm_id")


async def test_unknown_providers_and_entities_are_refused_by_name(client, northwind, sandbox):
    h = northwind.headers
    await sandbox.clear_requests()
    await refused_without_calls(
        sandbox,
        await client.get("/api/v1/deals/31/invoice-draft", params={"provider": "sage"}, headers=h),
        "provider",
    )
    await refused_without_calls(
        sandbox, await client.get("/api/v1/providers/sage/items", headers=h), "provider"
    )
    await refused_without_calls(
        sandbox,
        await client.put(
            "/api/v1/providers/xero/links/deal/31", json={"contact_id": "x"}, headers=h
        ),
        "entity",
    )


async def test_the_panel_refuses_a_deal_id_pipedrive_would_refuse(client, northwind, sandbox):
    await sandbox.clear_requests()
    for raw in ("0", "²", "99999999999999999999"):
        page = await client.get(
            "/pipedrive/panel", params={"selectedIds": raw}, headers=northwind.headers
        )
        assert page.status_code == 422, (raw, page.text)
        assert "deal" in page.text
    fragment = await client.get("/pipedrive/panel/0/invoices", headers=northwind.headers)
    assert fragment.status_code == 422
    assert await sandbox.requests() == []


@pytest.mark.parametrize("contact_id", ["a\x07b", "..", "x/../y", "é"])
async def test_provider_ids_that_are_not_url_safe_never_reach_the_provider(
    client, northwind, sandbox, contact_id
):
    """These became a segment of Xero's URL: a control character raised (500), '..' or '/'
    would address another resource."""
    h = northwind.headers
    await sandbox.clear_requests()
    link = await client.put(
        "/api/v1/providers/xero/links/organization/11", json={"contact_id": contact_id}, headers=h
    )
    await refused_without_calls(sandbox, link, "contact_id")
    item = await client.put(
        "/api/v1/providers/xero/links/products/1", json={"item_id": contact_id}, headers=h
    )
    await refused_without_calls(sandbox, item, "item_id")
    update = await client.post(
        f"/api/v1/providers/xero/contacts/{quote(contact_id, safe='')}/crm-update",
        json={},
        headers=h,
    )
    if contact_id == ".." or "/" in contact_id:
        # The URL itself resolves elsewhere: no such route.
        assert update.status_code == 404
        assert await sandbox.requests() == []
    else:
        await refused_without_calls(sandbox, update, "contact_id")
