"""Field definitions (reference §4.4): v1 ``/dealFields`` etc. with offset paging and v2
``/api/v2/dealFields`` etc. with cursor paging, standard fields plus each company's custom
fields, whose keys are random-looking 40-character hex hashes that differ per company.

In v2 we use the 40-character hash as ``field_code`` for custom fields (whether the real
``field_code`` equals the ``custom_fields`` key is UNCONFIRMED; it is the only useful link).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from sandbox.pipedrive.api.common import ApiContext, api_call, ok, paginate, paginate_v1
from sandbox.pipedrive.errors import PipedriveError
from sandbox.pipedrive.limits import COSTS
from sandbox.pipedrive.state import Data

ENTITIES = {
    "dealFields": "deal",
    "organizationFields": "organization",
    "personFields": "person",
    "productFields": "product",
}

ADDRESS_PARTS = (
    ("street_number", "House number"),
    ("route", "Street/road name"),
    ("sublocality", "District/sublocality"),
    ("locality", "City/town/village/locality"),
    ("admin_area_level_1", "State/county"),
    ("admin_area_level_2", "Region"),
    ("country", "Country"),
    ("postal_code", "ZIP/Postal code"),
    ("formatted_address", "Full/combined address"),
)

# (key, name, field_type, v1 key when it differs, mandatory)
STANDARD: dict[str, list[tuple[str, str, str, str | None, bool]]] = {
    "deal": [
        ("id", "ID", "int", None, False),
        ("title", "Title", "varchar", None, True),
        ("value", "Value", "monetary", None, False),
        ("currency", "Currency", "varchar_options", None, False),
        ("org_id", "Organization", "org", None, False),
        ("person_id", "Contact person", "people", None, False),
        ("owner_id", "Owner", "user", "user_id", False),
        ("status", "Status", "status", None, False),
        ("stage_id", "Stage", "stage", None, False),
        ("expected_close_date", "Expected close date", "date", None, False),
        ("add_time", "Deal created", "date", None, False),
        ("update_time", "Last updated", "date", None, False),
    ],
    "organization": [
        ("id", "ID", "int", None, False),
        ("name", "Name", "varchar", None, True),
        ("owner_id", "Owner", "user", None, False),
        ("address", "Address", "address", None, False),
        ("label_ids", "Labels", "set", "label", False),
        ("add_time", "Organization created", "date", None, False),
        ("update_time", "Update time", "date", None, False),
    ],
    "person": [
        ("id", "ID", "int", None, False),
        ("name", "Name", "varchar", None, True),
        ("first_name", "First name", "varchar", None, False),
        ("last_name", "Last name", "varchar", None, False),
        ("org_id", "Organization", "org", None, False),
        ("emails", "Email", "varchar", "email", False),
        ("phones", "Phone", "phone", "phone", False),
        ("owner_id", "Owner", "user", None, False),
        ("add_time", "Person created", "date", None, False),
    ],
    "product": [
        ("id", "ID", "int", None, False),
        ("name", "Name", "varchar", None, True),
        ("code", "Product code", "varchar", None, False),
        ("description", "Description", "text", None, False),
        ("unit", "Unit", "varchar", None, False),
        ("tax", "Tax", "double", None, False),
        ("prices", "Unit prices", "price", None, False),
        ("owner_id", "Owner", "user", None, False),
    ],
}

# The demo's custom fields (docs/demo-data.md): (entity, name, field_type, options)
CUSTOM: list[tuple[str, str, str, list[str]]] = [
    ("organization", "VAT number", "varchar", []),
    ("organization", "Billing email", "varchar", []),
    ("organization", "Segment", "enum", ["SMB", "Enterprise"]),
    ("person", "Job title", "varchar", []),
    ("deal", "PO number", "varchar", []),
    ("deal", "Billing contact", "people", []),
]


def custom_key(company_id: int, entity: str, name: str) -> str:
    """A stable 40-char hex key, different per company like the real random hashes."""
    return hashlib.sha1(
        f"pipedrive:{company_id}:{entity}:{name}".encode(), usedforsecurity=False
    ).hexdigest()


def option_id(company_id: int, position: int) -> int:
    return (company_id - 7000) * 100 + position


def seed_fields(data: Data, company_id: int, now_v1: str) -> dict[str, dict[str, str]]:
    """Store every entity's definitions; returns {entity: {custom field name: key}}."""
    keys: dict[str, dict[str, str]] = {entity: {} for entity in STANDARD}
    next_id = 9000 + (company_id - 7000) * 100
    for entity, standard in STANDARD.items():
        order = 0
        for key, name, field_type, v1_key, mandatory in standard:
            next_id += 1
            order += 1
            data.put_field(
                company_id,
                entity,
                {
                    "id": next_id,
                    "key": key,
                    "v1_key": v1_key or key,
                    "name": name,
                    "field_type": field_type,
                    "is_custom": False,
                    "mandatory": mandatory,
                    "order_nr": order,
                    "options": None,
                    "subfields": (
                        [{"key": part, "name": label} for part, label in ADDRESS_PARTS]
                        if field_type == "address"
                        else None
                    ),
                    "add_time": now_v1,
                },
            )
        for custom_entity, name, field_type, labels in CUSTOM:
            if custom_entity != entity:
                continue
            next_id += 1
            order += 1
            key = custom_key(company_id, entity, name)
            keys[entity][name] = key
            data.put_field(
                company_id,
                entity,
                {
                    "id": next_id,
                    "key": key,
                    "v1_key": key,
                    "name": name,
                    "field_type": field_type,
                    "is_custom": True,
                    "mandatory": False,
                    "order_nr": order,
                    "options": [
                        {"id": option_id(company_id, i + 1), "label": label}
                        for i, label in enumerate(labels)
                    ]
                    or None,
                    "subfields": None,
                    "add_time": now_v1,
                },
            )
    return keys


def as_v1(field: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": field["id"],
        "key": field["v1_key"],
        "name": field["name"],
        "order_nr": field["order_nr"],
        "field_type": field["field_type"],
        "json_column_flag": False,
        "add_time": field["add_time"],
        "update_time": field["add_time"],
        "last_updated_by_user_id": None,
        "edit_flag": field["is_custom"],
        "details_visible_flag": True,
        "add_visible_flag": True,
        "important_flag": False,
        "bulk_edit_allowed": field["key"] != "id",
        "filtering_allowed": True,
        "sortable_flag": True,
        "searchable_flag": field["field_type"] == "varchar",
        "index_visible_flag": True,
        "active_flag": True,
        "mandatory_flag": field["mandatory"],
        "is_subfield": False,
    }
    if field["options"]:
        out["options"] = [{"id": o["id"], "label": o["label"]} for o in field["options"]]
    if field["subfields"]:
        out["subfields"] = [
            {"key": f"{field['v1_key']}_{s['key']}", "name": s["name"], "field_type": "varchar"}
            for s in field["subfields"]
        ]
    return out


def as_v2(field: dict[str, Any], include: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "field_name": field["name"],
        "field_code": field["key"],
        "description": None,
        "field_type": field["field_type"],
        "is_custom_field": field["is_custom"],
        "is_optional_response_field": False,
        "options": (
            [
                {
                    "id": o["id"],
                    "label": o["label"],
                    "color": None,
                    "add_time": field["add_time"],
                    "update_time": None,
                }
                for o in field["options"]
            ]
            if field["options"]
            else None
        ),
        "subfields": (
            [
                {"field_code": s["key"], "field_name": s["name"], "field_type": "varchar"}
                for s in field["subfields"]
            ]
            if field["subfields"]
            else None
        ),
    }
    if "ui_visibility" in include:
        out["ui_visibility"] = {"add_visible": True, "details_visible": True}
    if "important_fields" in include:
        out["important_fields"] = {"enabled": False, "stage_ids": []}
    if "required_fields" in include:
        out["required_fields"] = {"enabled": field["mandatory"]}
    return out


Ctx = Annotated[ApiContext, Depends(api_call(COSTS["fields"]))]


def v1_router() -> APIRouter:
    r = APIRouter()
    for path, entity in ENTITIES.items():

        def make(entity: str) -> Any:
            async def list_fields(
                ctx: Ctx, start: str | None = None, limit: str | None = None
            ) -> dict[str, Any]:
                items = [as_v1(f) for f in ctx.data.fields(ctx.company_id, entity)]
                page, extra = paginate_v1(items, start, limit)
                return ok(page, extra)

            return list_fields

        r.add_api_route(f"/{path}", make(entity), methods=["GET"], name=f"v1_{path}")
    return r


def v2_router() -> APIRouter:
    r = APIRouter()
    for path, entity in ENTITIES.items():

        def make_list(entity: str) -> Any:
            async def list_fields(
                ctx: Ctx,
                cursor: str | None = None,
                limit: str | None = None,
                include_fields: str | None = None,
            ) -> dict[str, Any]:
                include = {part.strip() for part in (include_fields or "").split(",")}
                items = [as_v2(f, include) for f in ctx.data.fields(ctx.company_id, entity)]
                page, extra = paginate(items, cursor, limit)
                return ok(page, extra)

            return list_fields

        def make_one(entity: str) -> Any:
            async def one_field(
                ctx: Ctx, field_code: str, include_fields: str | None = None
            ) -> dict[str, Any]:
                include = {part.strip() for part in (include_fields or "").split(",")}
                for field in ctx.data.fields(ctx.company_id, entity):
                    if field["key"] == field_code:
                        return ok(as_v2(field, include))
                raise PipedriveError(404, "Field not found")

            return one_field

        r.add_api_route(f"/{path}", make_list(entity), methods=["GET"], name=f"v2_{path}")
        r.add_api_route(
            f"/{path}/{{field_code}}", make_one(entity), methods=["GET"], name=f"v2_{path}_one"
        )
    return r
