"""Webhooks v2 out for deal changes (reference pipedrive.md §6)."""

from __future__ import annotations

import base64
import json

from tests.sandbox.pipedrive.conftest import NORTHWIND


def posted(pd):
    return [r for r in pd.receiver.of("POST") if r["path"] == "/webhooks/pipedrive"]


async def test_deal_change_posts_v2_webhook_with_basic_auth_and_previous(pd, northwind):
    response = await pd.http.patch(
        "/_sandbox/pipedrive/deals/31", json={"title": "Acme rollout (phase 2)", "user_id": 102}
    )
    assert response.status_code == 200
    await pd.sandbox.webhooks.drain(timeout=5)
    [delivery] = posted(pd)
    expected = "Basic " + base64.b64encode(b"hook-user:hook-pass").decode()
    assert delivery["headers"]["authorization"] == expected
    body = json.loads(delivery["body"])
    meta = body["meta"]
    assert (meta["action"], meta["entity"], meta["version"]) == ("change", "deal", "2.0")
    assert (meta["company_id"], meta["entity_id"], meta["user_id"]) == ("7001", "31", "102")
    assert meta["attempt"] == 1 and meta["host"] == "northwind.pipedrive.com"
    assert meta["id"] and meta["timestamp"].endswith("Z")
    assert body["data"]["title"] == "Acme rollout (phase 2)"
    assert body["previous"]["title"] == "Acme rollout"
    assert "value" not in body["previous"]
    deal = (await pd.get(f"{NORTHWIND}/api/v2/deals/31", northwind)).json()["data"]
    assert deal["title"] == "Acme rollout (phase 2)"


async def test_changing_products_recomputes_value_and_lines(pd, northwind):
    response = await pd.http.patch(
        "/_sandbox/pipedrive/deals/31",
        json={
            "products": [
                {"product_id": 4, "quantity": 2, "discount": 50, "discount_type": "amount"}
            ]
        },
    )
    assert response.status_code == 200
    lines = (await pd.get(f"{NORTHWIND}/api/v2/deals/31/products", northwind)).json()["data"]
    assert [(x["product_id"], x["quantity"], x["sum"]) for x in lines] == [(4, 2, 2012.5)]
    deal = (await pd.get(f"{NORTHWIND}/api/v2/deals/31", northwind)).json()["data"]
    assert deal["value"] == 2012.5
    await pd.sandbox.webhooks.drain(timeout=5)
    body = json.loads(posted(pd)[0]["body"])
    assert body["previous"]["value"] == 6957.5


async def test_status_change_sets_won_time(pd, northwind):
    await pd.http.patch("/_sandbox/pipedrive/deals/32", json={"status": "won"})
    deal = (await pd.get(f"{NORTHWIND}/api/v2/deals/32", northwind)).json()["data"]
    assert deal["status"] == "won" and deal["won_time"] and deal["close_time"]
    refused = await pd.http.patch("/_sandbox/pipedrive/deals/32", json={"status": "maybe"})
    assert refused.status_code == 422


async def test_create_and_delete_fire_webhooks(pd, northwind):
    created = await pd.http.post(
        "/_sandbox/pipedrive/deals",
        json={
            "company_id": 7001,
            "title": "New deal",
            "org_id": 12,
            "person_id": 22,
            "currency": "USD",
            "products": [{"product_id": 1, "quantity": 3}],
        },
    )
    assert created.status_code == 201
    deal_id = created.json()["deal"]["id"]
    deal = (await pd.get(f"{NORTHWIND}/api/v2/deals/{deal_id}", northwind)).json()["data"]
    assert deal["value"] == 517.5 and deal["currency"] == "USD"
    deleted = await pd.http.delete(f"/_sandbox/pipedrive/deals/{deal_id}")
    assert deleted.status_code == 200
    await pd.sandbox.webhooks.drain(timeout=5)
    # Deliveries run concurrently: like the real ones, they may arrive in any order.
    bodies = {b["meta"]["action"]: b for b in (json.loads(d["body"]) for d in posted(pd))}
    assert set(bodies) == {"create", "delete"}
    assert bodies["create"]["previous"] is None and bodies["create"]["data"]["id"] == deal_id
    assert bodies["delete"]["data"] is None and bodies["delete"]["previous"]["id"] == deal_id
    after = (await pd.get(f"{NORTHWIND}/api/v2/deals/{deal_id}", northwind)).json()["data"]
    assert after["is_deleted"] is True
    assert (await pd.http.delete(f"/_sandbox/pipedrive/deals/{deal_id}")).status_code == 404


async def test_failed_deliveries_are_retried(pd):
    pd.receiver.status = 503
    await pd.http.patch("/_sandbox/pipedrive/deals/33", json={"title": "Initech training+"})
    await pd.sandbox.webhooks.drain(timeout=5)
    assert len(posted(pd)) == 3  # first try and the two configured retries
    log = (await pd.http.get("/_sandbox/webhooks", params={"provider": "pipedrive"})).json()
    assert [a["status"] for a in log[0]["attempts"]] == [503, 503, 503]
    assert log[0]["delivered"] is False


async def test_unknown_product_or_deal_is_refused(pd):
    bad = await pd.http.patch(
        "/_sandbox/pipedrive/deals/31", json={"products": [{"product_id": 99}]}
    )
    assert bad.status_code == 422
    assert (
        await pd.http.patch("/_sandbox/pipedrive/deals/999", json={"title": "x"})
    ).status_code == 404
    assert (
        await pd.http.patch("/_sandbox/pipedrive/deals/36", json={"title": "x"})
    ).status_code == 404
