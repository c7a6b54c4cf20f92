"""App webhook subscriptions: create, list, delete, the rules the real API enforces, delivery to
each matching subscription, and removal on uninstall (reference pipedrive.md §6,
lifecycle-and-billing.md §3.1)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2

from tests.sandbox.pipedrive.conftest import NORTHWIND, PD, basic

HOOKS = f"{NORTHWIND}/api/v1/webhooks"


def hook(receiver_url: str, **over: Any) -> dict[str, Any]:
    body = {
        "subscription_url": f"{receiver_url}/webhooks/pipedrive",
        "event_action": "*",
        "event_object": "deal",
        "name": "CRM Invoicing",
        "http_auth_user": "u1",
        "http_auth_password": "p1",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


async def create(pd: PD, token: str, body: dict[str, Any]) -> httpx2.Response:
    return await pd.http.post(HOOKS, json=body, headers={"Authorization": f"Bearer {token}"})


def posted(pd: PD) -> list[dict[str, Any]]:
    return [r for r in pd.receiver.of("POST") if r["path"] == "/webhooks/pipedrive"]


async def test_create_list_and_delete(pd, northwind):
    made = await create(pd, northwind, hook(pd.receiver.url))
    assert made.status_code == 201, made.text
    data = made.json()["data"]
    assert data["type"] == "application" and data["version"] == "2.0"
    assert (data["event_action"], data["event_object"], data["name"]) == (
        "*",
        "deal",
        "CRM Invoicing",
    )
    assert data["owner_id"] == 101 and data["user_id"] == 101
    listed = (await pd.get(HOOKS, northwind)).json()["data"]
    assert [h["id"] for h in listed] == [data["id"]]
    gone = await pd.http.delete(
        f"{HOOKS}/{data['id']}", headers={"Authorization": f"Bearer {northwind}"}
    )
    assert gone.status_code == 200
    assert (await pd.get(HOOKS, northwind)).json()["data"] == []
    again = await pd.http.delete(
        f"{HOOKS}/{data['id']}", headers={"Authorization": f"Bearer {northwind}"}
    )
    assert again.status_code == 404 and again.json()["success"] is False


async def test_bad_subscriptions_are_refused_naming_the_field(pd, northwind):
    url = pd.receiver.url
    cases = [
        (hook(url, subscription_url=None), "subscription_url"),
        (hook(url, subscription_url="not a url"), "subscription_url"),
        (hook(url, subscription_url="https://acme.pipedrive.com/x"), "subscription_url"),
        (hook(url, event_action="updated"), "event_action"),
        (hook(url, event_object="invoice"), "event_object"),
        (hook(url, version="3.0"), "version"),
        (hook(url, name=None), "name"),
        (hook(url, user_id=201), "user_id"),  # a Contoso user
    ]
    for body, field in cases:
        refused = await create(pd, northwind, body)
        assert refused.status_code == 400, (field, refused.text)
        assert field in refused.json()["error"]
    assert (await pd.get(HOOKS, northwind)).json()["data"] == []


async def test_the_admin_scope_is_required(pd):
    response = await pd.http.post(
        "/_sandbox/pipedrive/auto-approve",
        json={"user_id": 101, "scope": "base,deals:read,products:read"},
    )
    assert response.status_code == 200
    params = {"client_id": "pd-test-client", "redirect_uri": pd.callback}
    consent = await pd.http.get("/pipedrive/oauth/oauth/authorize", params=params)
    code = consent.headers["location"].split("code=")[1].split("&")[0]
    tokens = (await pd.exchange(code)).json()
    assert "admin" not in tokens["scope"].split(",")
    refused = await create(pd, tokens["access_token"], hook(pd.receiver.url))
    assert refused.status_code == 403
    assert refused.json()["error"] == "Scope and URL mismatch"


async def test_at_most_forty_per_app_user(pd, northwind):
    for n in range(40):
        made = await create(pd, northwind, hook(pd.receiver.url, name=f"hook {n}"))
        assert made.status_code == 201, made.text
    refused = await create(pd, northwind, hook(pd.receiver.url, name="one too many"))
    assert refused.status_code == 400 and "40" in refused.json()["error"]


async def test_changes_go_to_each_matching_subscription_with_its_credentials(pd, northwind):
    deals = (await create(pd, northwind, hook(pd.receiver.url))).json()["data"]
    lines = hook(pd.receiver.url, event_object="deal_product", http_auth_user="u2")
    lines_id = (await create(pd, northwind, lines)).json()["data"]["id"]
    products = hook(pd.receiver.url, event_object="product", event_action="change")
    products_id = (await create(pd, northwind, products)).json()["data"]["id"]

    await pd.http.patch(
        "/_sandbox/pipedrive/deals/31", json={"products": [{"product_id": 4, "quantity": 2}]}
    )
    changed = await pd.http.patch(
        "/_sandbox/pipedrive/companies/7001/products/4", json={"name": "Support plan"}
    )
    assert changed.status_code == 200 and changed.json()["previous"]["name"] != "Support plan"
    await pd.sandbox.webhooks.drain(timeout=5)

    bodies = [(json.loads(r["body"]), r["headers"]["authorization"]) for r in posted(pd)]
    by_entity: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for body, auth in bodies:
        by_entity.setdefault(body["meta"]["entity"], []).append((body, auth))
    [(deal, deal_auth)] = by_entity["deal"]
    assert deal["meta"]["webhook_id"] == str(deals["id"]) and deal["meta"]["type"] == "application"
    assert deal_auth == "Basic " + base64.b64encode(b"u1:p1").decode()
    actions = sorted(b["meta"]["action"] for b, _ in by_entity["deal_product"])
    assert actions[-1] == "delete" and actions.count("create") == 1
    assert all(b["meta"]["webhook_id"] == str(lines_id) for b, _ in by_entity["deal_product"])
    assert all(
        a == "Basic " + base64.b64encode(b"u2:p1").decode() for _, a in by_entity["deal_product"]
    )
    [(product, _)] = by_entity["product"]
    assert product["meta"]["webhook_id"] == str(products_id)
    assert product["data"]["name"] == "Support plan"


async def test_a_company_without_subscriptions_still_gets_the_configured_url(pd, northwind):
    await pd.http.patch("/_sandbox/pipedrive/deals/31", json={"title": "Renamed"})
    await pd.sandbox.webhooks.drain(timeout=5)
    [delivery] = posted(pd)
    assert json.loads(delivery["body"])["meta"]["entity"] == "deal"


async def test_uninstall_removes_the_users_app_webhooks(pd, northwind):
    await create(pd, northwind, hook(pd.receiver.url))
    bob = (await pd.install(102))["access_token"]
    kept = (await create(pd, bob, hook(pd.receiver.url, name="Bob's"))).json()["data"]
    result = await pd.http.post(
        "/_sandbox/pipedrive/uninstall", json={"company_id": 7001, "user_id": 101}
    )
    assert result.json()["removed_webhooks"] == 1
    assert [h["id"] for h in (await pd.get(HOOKS, bob)).json()["data"]] == [kept["id"]]


async def test_revoking_the_refresh_token_removes_them_too(pd):
    tokens = await pd.install(101)
    await create(pd, tokens["access_token"], hook(pd.receiver.url))
    revoked = await pd.http.post(
        "/pipedrive/oauth/oauth/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        headers={"Authorization": basic()},
    )
    assert revoked.status_code == 200
    other = (await pd.install(102))["access_token"]
    assert (await pd.get(HOOKS, other)).json()["data"] == []
