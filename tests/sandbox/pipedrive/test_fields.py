"""Field definitions, v1 and v2 (reference pipedrive.md §4.4)."""

from __future__ import annotations

import re

from tests.sandbox.pipedrive.conftest import CONTOSO, NORTHWIND

HEX40 = re.compile(r"[0-9a-f]{40}")
ENTITIES = ("deal", "organization", "person", "product")


async def test_v1_fields_of_every_entity(pd, northwind):
    for entity in ENTITIES:
        body = (await pd.get(f"{NORTHWIND}/api/v1/{entity}Fields", northwind)).json()
        assert body["success"] is True
        assert body["additional_data"]["pagination"]["more_items_in_collection"] is False
        for field in body["data"]:
            assert {
                "id",
                "key",
                "name",
                "field_type",
                "edit_flag",
                "active_flag",
                "mandatory_flag",
                "is_subfield",
            } <= set(field)
        assert "name" in {f["key"] for f in body["data"]} or entity == "deal"


async def test_v1_custom_fields_have_40_char_keys_and_enum_options(pd, northwind):
    body = (await pd.get(f"{NORTHWIND}/api/v1/organizationFields", northwind)).json()
    by_name = {f["name"]: f for f in body["data"]}
    for name in ("VAT number", "Billing email", "Segment"):
        assert HEX40.fullmatch(by_name[name]["key"]), name
        assert by_name[name]["edit_flag"] is True
    assert [o["label"] for o in by_name["Segment"]["options"]] == ["SMB", "Enterprise"]
    assert by_name["Segment"]["field_type"] == "enum"
    address = by_name["Address"]
    assert address["field_type"] == "address"
    assert "address_postal_code" in {s["key"] for s in address["subfields"]}
    person = (await pd.get(f"{NORTHWIND}/api/v1/personFields", northwind)).json()["data"]
    assert "email" in {f["key"] for f in person}  # v1 key; v2 says emails


async def test_v1_paging(pd, northwind):
    body = (await pd.get(f"{NORTHWIND}/api/v1/dealFields", northwind, start="0", limit="5")).json()
    assert len(body["data"]) == 5
    pagination = body["additional_data"]["pagination"]
    assert pagination == {"start": 0, "limit": 5, "more_items_in_collection": True, "next_start": 5}


async def test_v2_fields_shape(pd, northwind):
    body = (await pd.get(f"{NORTHWIND}/api/v2/dealFields", northwind)).json()
    by_name = {f["field_name"]: f for f in body["data"]}
    po = by_name["PO number"]
    assert set(po) == {
        "field_name",
        "field_code",
        "description",
        "field_type",
        "is_custom_field",
        "is_optional_response_field",
        "options",
        "subfields",
    }
    assert po["is_custom_field"] is True and HEX40.fullmatch(po["field_code"])
    assert (
        by_name["Title"]["field_code"] == "title" and by_name["Title"]["is_custom_field"] is False
    )
    assert body["additional_data"] == {"next_cursor": None}
    org = (await pd.get(f"{NORTHWIND}/api/v2/organizationFields", northwind)).json()["data"]
    segment = next(f for f in org if f["field_name"] == "Segment")
    assert [set(o) for o in segment["options"]] == [
        {"id", "label", "color", "add_time", "update_time"}
    ] * 2
    assert next(f for f in org if f["field_name"] == "Address")["subfields"]


async def test_v2_include_fields_and_single_field(pd, northwind):
    body = (
        await pd.get(f"{NORTHWIND}/api/v2/dealFields", northwind, include_fields="required_fields")
    ).json()
    title = next(f for f in body["data"] if f["field_code"] == "title")
    assert title["required_fields"] == {"enabled": True}
    one = await pd.get(f"{NORTHWIND}/api/v2/productFields/code", northwind)
    assert one.json()["data"]["field_name"] == "Product code"
    missing = await pd.get(f"{NORTHWIND}/api/v2/productFields/nope", northwind)
    assert missing.status_code == 404 and missing.json()["error"] == "Field not found"


async def test_v2_cursor_paging_walks_every_field(pd, northwind):
    everything = (await pd.get(f"{NORTHWIND}/api/v2/personFields", northwind)).json()["data"]
    walked, cursor = [], None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        body = (await pd.get(f"{NORTHWIND}/api/v2/personFields", northwind, **params)).json()
        walked += body["data"]
        cursor = body["additional_data"]["next_cursor"]
        if not cursor:
            break
    assert walked == everything


async def test_custom_keys_differ_per_company(pd, northwind):
    contoso = (await pd.install(201))["access_token"]
    ours = (await pd.get(f"{NORTHWIND}/api/v2/organizationFields", northwind)).json()["data"]
    theirs = (await pd.get(f"{CONTOSO}/api/v2/organizationFields", contoso)).json()["data"]
    key = {f["field_name"]: f["field_code"] for f in ours}["VAT number"]
    other = {f["field_name"]: f["field_code"] for f in theirs}["VAT number"]
    assert key != other
    org = (await pd.get(f"{CONTOSO}/api/v2/organizations/111", contoso)).json()["data"]
    assert org["custom_fields"][other] == "NZ-123-456-789"
