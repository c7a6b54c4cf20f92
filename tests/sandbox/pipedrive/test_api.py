"""API v1 identity and the API v2 shapes (reference pipedrive.md §1.3, §4.2, §4.3)."""

from __future__ import annotations

import re

from tests.sandbox.pipedrive.conftest import CONTOSO, NORTHWIND, PUBLIC

V2 = f"{NORTHWIND}/api/v2"
HEX40 = re.compile(r"[0-9a-f]{40}")


async def fields_by_name(pd, token: str, entity: str, base: str = NORTHWIND) -> dict[str, str]:
    body = (await pd.get(f"{base}/api/v2/{entity}Fields", token)).json()
    return {f["field_name"]: f["field_code"] for f in body["data"]}


async def test_users_me(pd, northwind):
    response = await pd.get(f"{NORTHWIND}/api/v1/users/me", northwind)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    me = body["data"]
    assert {k: me[k] for k in ("id", "company_id", "company_name", "company_domain", "email")} == {
        "id": 101,
        "company_id": 7001,
        "company_name": "Northwind Traders",
        "company_domain": "northwind",
        "email": "nora@northwind.test",
    }
    assert me["name"] == "Nora Admin" and me["is_admin"] == 1
    assert me["default_currency"] == "NZD" and me["timezone_name"] == "Pacific/Auckland"
    assert set(me["language"]) == {"language_code", "country_code"}
    assert me["locale"]


async def test_sales_rep_is_not_admin(pd):
    token = (await pd.install(102))["access_token"]
    me = (await pd.get(f"{NORTHWIND}/api/v1/users/me", token)).json()["data"]
    assert (me["id"], me["is_admin"]) == (102, 0)


async def test_token_works_only_under_its_own_company_and_on_the_api_host(pd, northwind):
    foreign = await pd.get(f"{CONTOSO}/api/v1/users/me", northwind)
    assert foreign.status_code == 401
    assert foreign.json() == {
        "success": False,
        "error": "Invalid token: access_token is invalid",
        "errorCode": 401,
        "error_info": foreign.json()["error_info"],
        "data": None,
        "additional_data": None,
    }
    assert (await pd.get(f"{CONTOSO}/api/v2/deals/131", northwind)).status_code == 401
    host = await pd.get(f"{PUBLIC}/pipedrive/api/v1/users/me", northwind)
    assert host.json()["data"]["company_id"] == 7001
    short = await pd.get(f"{NORTHWIND}/v1/users/me", northwind)
    assert short.json()["data"]["id"] == 101
    v2_on_host = await pd.get(f"{PUBLIC}/pipedrive/api/api/v2/deals/31", northwind)
    assert v2_on_host.json()["data"]["title"] == "Acme rollout"


async def test_missing_or_malformed_bearer_is_401(pd):
    assert (await pd.http.get(f"{V2}/deals/31")).status_code == 401
    response = await pd.http.get(f"{V2}/deals/31", headers={"Authorization": "Bearer v1u:nope"})
    assert response.status_code == 401


async def test_deal_shape(pd, northwind):
    body = (await pd.get(f"{V2}/deals/31", northwind)).json()
    deal = body["data"]
    for key in (
        "id",
        "title",
        "value",
        "currency",
        "owner_id",
        "person_id",
        "org_id",
        "pipeline_id",
        "stage_id",
        "status",
        "add_time",
        "update_time",
        "close_time",
        "won_time",
        "lost_time",
        "expected_close_date",
        "probability",
        "lost_reason",
        "label_ids",
        "is_deleted",
        "is_archived",
        "visible_to",
        "origin",
        "channel",
        "arr",
        "mrr",
        "acv",
        "custom_fields",
    ):
        assert key in deal, key
    assert (deal["id"], deal["title"], deal["currency"]) == (31, "Acme rollout", "NZD")
    assert (deal["org_id"], deal["person_id"]) == (11, 21)
    assert deal["is_deleted"] is False and deal["status"] == "open"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", deal["add_time"])
    fields = await fields_by_name(pd, northwind, "deal")
    assert deal["custom_fields"][fields["PO number"]] == "PO-4471"
    assert deal["custom_fields"][fields["Billing contact"]] == 21
    assert all(HEX40.fullmatch(k) for k in deal["custom_fields"])
    # value = products total: 1552.50 + 2645.00 + 2760.00
    assert deal["value"] == 6957.5


async def test_custom_fields_parameter_limits_the_custom_fields(pd, northwind):
    fields = await fields_by_name(pd, northwind, "deal")
    body = (await pd.get(f"{V2}/deals/31", northwind, custom_fields=fields["PO number"])).json()
    assert body["data"]["custom_fields"] == {fields["PO number"]: "PO-4471"}


async def test_deleted_deal_answers_with_is_deleted_and_is_left_out_of_lists(pd, northwind):
    deal = (await pd.get(f"{V2}/deals/36", northwind)).json()["data"]
    assert deal["is_deleted"] is True and deal["status"] == "deleted"
    listed = (await pd.get(f"{V2}/deals", northwind)).json()["data"]
    assert [d["id"] for d in listed] == [31, 32, 33, 34, 35]
    deleted = (await pd.get(f"{V2}/deals", northwind, status="deleted")).json()["data"]
    assert [d["id"] for d in deleted] == [36]


async def test_deal_products_shape_and_sums(pd, northwind):
    body = (await pd.get(f"{V2}/deals/31/products", northwind)).json()
    assert body["success"] is True and body["additional_data"] == {"next_cursor": None}
    lines = body["data"]
    assert [line["product_id"] for line in lines] == [1, 2, 3]
    first = lines[0]
    assert set(first) >= {
        "id",
        "deal_id",
        "product_id",
        "product_variation_id",
        "name",
        "item_price",
        "quantity",
        "discount",
        "discount_type",
        "tax",
        "tax_method",
        "sum",
        "currency",
        "comments",
        "is_enabled",
        "order_nr",
        "add_time",
        "update_time",
        "billing_frequency",
        "billing_frequency_cycles",
        "billing_start_date",
    }
    assert "code" not in first  # deal products carry no product code (reference §4.3)
    assert (first["item_price"], first["quantity"], first["discount"]) == (150, 10, 10)
    assert (first["discount_type"], first["tax"], first["tax_method"]) == (
        "percentage",
        15,
        "exclusive",
    )
    assert first["sum"] == 1552.5 and first["comments"] == "" and first["is_enabled"] is True
    assert (lines[1]["discount"], lines[1]["discount_type"], lines[1]["sum"]) == (
        200,
        "amount",
        2645,
    )


async def test_inclusive_two_rate_and_untaxed_deals(pd, northwind):
    globex = (await pd.get(f"{V2}/deals/32/products", northwind)).json()["data"]
    assert {line["tax_method"] for line in globex} == {"inclusive"}
    assert [line["sum"] for line in globex] == [6000, 1188]
    initech = (await pd.get(f"{V2}/deals/33/products", northwind)).json()["data"]
    assert [(line["tax"], line["sum"]) for line in initech] == [(19, 3213), (0, 699.9)]
    walk_in = (await pd.get(f"{V2}/deals/35/products", northwind)).json()["data"]
    assert [(line["tax_method"], line["sum"]) for line in walk_in] == [("none", 150)]
    empty = (await pd.get(f"{V2}/deals/34/products", northwind)).json()
    assert empty["data"] == []


async def test_deal_without_org_or_person(pd, northwind):
    deal = (await pd.get(f"{V2}/deals/35", northwind)).json()["data"]
    assert deal["org_id"] is None and deal["person_id"] is None


async def test_deal_discounts(pd, northwind):
    discounts = (await pd.get(f"{V2}/deals/32/discounts", northwind)).json()["data"]
    assert len(discounts) == 1
    d = discounts[0]
    assert set(d) == {
        "id",
        "type",
        "amount",
        "description",
        "deal_id",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    }
    assert isinstance(d["id"], str) and (d["type"], d["amount"], d["deal_id"]) == (
        "percentage",
        5,
        32,
    )
    amount = (await pd.get(f"{V2}/deals/33/discounts", northwind)).json()["data"]
    assert [(x["type"], x["amount"]) for x in amount] == [("amount", 100)]
    assert (await pd.get(f"{V2}/deals/31/discounts", northwind)).json()["data"] == []
    # 7188 less 5 % = 6828.60
    assert (await pd.get(f"{V2}/deals/32", northwind)).json()["data"]["value"] == 6828.6


async def test_batch_deal_products_with_cursor_paging(pd, northwind):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"deal_ids": "31,32,33", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        body = (await pd.get(f"{V2}/deals/products", northwind, **params)).json()
        seen += [(line["deal_id"], line["product_id"]) for line in body["data"]]
        pages += 1
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert sorted(seen) == [(31, 1), (31, 2), (31, 3), (32, 3), (32, 5), (33, 4), (33, 6)]


async def test_paging_limits_are_checked(pd, northwind):
    too_big = await pd.get(f"{V2}/deals/31/products", northwind, limit="501")
    assert too_big.status_code == 400 and too_big.json()["success"] is False
    bad_cursor = await pd.get(f"{V2}/deals/31/products", northwind, cursor="%%%")
    assert bad_cursor.status_code == 400
    max_ok = await pd.get(f"{V2}/deals/31/products", northwind, limit="500")
    assert max_ok.status_code == 200


async def test_product_shape_and_batch(pd, northwind):
    product = (await pd.get(f"{V2}/products/6", northwind)).json()["data"]
    for key in (
        "id",
        "name",
        "code",
        "unit",
        "tax",
        "is_deleted",
        "is_linkable",
        "visible_to",
        "owner_id",
        "custom_fields",
        "billing_frequency",
        "billing_frequency_cycles",
        "prices",
    ):
        assert key in product, key
    assert (product["name"], product["code"], product["tax"]) == ("Hardware kit", "HW-KIT", 15)
    prices = {p["currency"]: p["price"] for p in product["prices"]}
    assert prices["NZD"] == 349.95 and prices["EUR"] == 349.95
    assert set(product["prices"][0]) == {
        "product_id",
        "currency",
        "price",
        "cost",
        "direct_cost",
        "notes",
    }
    batch = (await pd.get(f"{V2}/products", northwind, ids="1,3,5")).json()["data"]
    assert [p["code"] for p in batch] == ["CONS-HR", "LIC-ANN", "SUP-MON"]


async def test_organization_shape(pd, northwind):
    org = (await pd.get(f"{V2}/organizations/11", northwind)).json()["data"]
    assert org["name"] == "Acme Ltd"
    assert org["address"] == {
        "value": "12 Queen Street, Auckland 1010, New Zealand",
        "street_number": "12",
        "route": "Queen Street",
        "sublocality": None,
        "locality": "Auckland",
        "admin_area_level_1": "Auckland",
        "admin_area_level_2": None,
        "country": "New Zealand",
        "postal_code": "1010",
        "formatted_address": "12 Queen Street, Auckland 1010, New Zealand",
    }
    fields = await fields_by_name(pd, northwind, "organization")
    assert org["custom_fields"][fields["VAT number"]] == "NZ-123-456-789"
    assert org["custom_fields"][fields["Billing email"]] == "accounts@acme.test"
    segment = (await pd.get(f"{V2}/organizationFields/{fields['Segment']}", northwind)).json()
    options = {o["id"]: o["label"] for o in segment["data"]["options"]}
    assert options[org["custom_fields"][fields["Segment"]]] == "SMB"
    umbrella = (await pd.get(f"{V2}/organizations/14", northwind)).json()["data"]
    assert umbrella["address"] is None
    assert umbrella["custom_fields"][fields["VAT number"]] is None


async def test_person_shape(pd, northwind):
    person = (await pd.get(f"{V2}/persons/21", northwind)).json()["data"]
    assert (person["name"], person["first_name"], person["last_name"]) == (
        "Alice Buyer",
        "Alice",
        "Buyer",
    )
    assert person["org_id"] == 11
    assert person["emails"] == [
        {"value": "alice@acme.test", "primary": True, "label": "work"},
        {"value": "accounts@acme.test", "primary": False, "label": "other"},
    ]
    assert isinstance(person["phones"], list)
    fields = await fields_by_name(pd, northwind, "person")
    assert person["custom_fields"][fields["Job title"]] == "Head of Purchasing"


async def test_second_company_has_its_own_ids(pd):
    token = (await pd.install(201))["access_token"]
    deal = (await pd.get(f"{CONTOSO}/api/v2/deals/131", token)).json()["data"]
    assert (deal["title"], deal["org_id"], deal["person_id"]) == ("Acme rollout", 111, 121)
    assert (await pd.get(f"{CONTOSO}/api/v2/deals/31", token)).status_code == 404
    org = (await pd.get(f"{CONTOSO}/api/v2/organizations/111", token)).json()["data"]
    assert org["name"] == "Acme Ltd"
    person = (await pd.get(f"{CONTOSO}/api/v2/persons/121", token)).json()["data"]
    assert person["org_id"] == 111
    assert (await pd.get(f"{CONTOSO}/api/v2/deals/136", token)).status_code == 404


async def test_not_found_shapes(pd, northwind):
    for path, message in (
        ("deals/999", "Deal not found"),
        ("deals/999/products", "Deal not found"),
        ("deals/999/discounts", "Deal not found"),
        ("products/99", "Product not found"),
        ("organizations/99", "Organization not found"),
        ("persons/99", "Person not found"),
    ):
        response = await pd.get(f"{V2}/{path}", northwind)
        assert response.status_code == 404, path
        body = response.json()
        assert (body["success"], body["error"], body["errorCode"]) == (False, message, 404)


async def test_bad_ids_and_unknown_paths(pd, northwind):
    bad = await pd.get(f"{V2}/deals/abc", northwind)
    assert bad.status_code == 400 and bad.json()["success"] is False
    unknown = await pd.get(f"{NORTHWIND}/api/v2/nothing-here", northwind)
    assert unknown.status_code == 404 and unknown.json()["success"] is False
    too_many = await pd.get(
        f"{V2}/products", northwind, ids=",".join(str(i) for i in range(1, 102))
    )
    assert too_many.status_code == 400


async def test_currencies(pd, northwind):
    body = (await pd.get(f"{NORTHWIND}/api/v1/currencies", northwind)).json()
    codes = {c["code"]: c for c in body["data"]}
    assert {"NZD", "USD", "EUR", "AUD"} <= set(codes)
    assert set(codes["NZD"]) == {
        "id",
        "code",
        "name",
        "decimal_points",
        "symbol",
        "active_flag",
        "is_custom_flag",
    }
    assert codes["JPY"]["decimal_points"] == 0


async def test_errors_after_auth_keep_the_rate_limit_headers(pd, northwind):
    response = await pd.get(f"{V2}/deals/999", northwind)
    assert response.status_code == 404
    assert response.headers["x-ratelimit-limit"] == "80"
    assert response.headers["x-ratelimit-remaining"] == "79"


async def test_timezone_offset_follows_the_users_zone(pd):
    token = (await pd.install(201))["access_token"]
    me = (await pd.get(f"{CONTOSO}/api/v1/users/me", token)).json()["data"]
    assert me["timezone_name"] == "Australia/Sydney"
    assert me["timezone_offset"] in ("+10:00", "+11:00")
