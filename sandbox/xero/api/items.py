"""Items: list (where, order, If-Modified-Since, unitdp), get by ItemID or Code, create and
update (xero.md section 5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.xero import rules
from sandbox.xero.api import batch, query
from sandbox.xero.api.common import bad_request, ctx, not_found, respond, state_of
from sandbox.xero.state import XeroState, new_id

router = APIRouter()

WRITABLE = (
    "Code",
    "Name",
    "Description",
    "PurchaseDescription",
    "IsSold",
    "IsPurchased",
    "InventoryAssetAccountCode",
    "IsTrackedAsInventory",
)


def find_item(state: XeroState, tenant: str, ref: str) -> dict[str, Any] | None:
    found = state.store.get("xero:item", ref.lower())
    if found is not None and found["_tenant"] == tenant:
        return found
    return next((i for i in state.store.all("xero:item", scope=tenant) if i["Code"] == ref), None)


def _details(raw: Any, errors: list[str], unitdp: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    out = {k: raw[k] for k in ("AccountCode", "TaxType", "COGSAccountCode") if raw.get(k)}
    try:
        price = rules.to_decimal(raw.get("UnitPrice"))
    except ValueError:
        errors.append("UnitPrice must be a number")
        return out
    if price is not None:
        out["UnitPrice"] = str(rules.unit(price, unitdp))
    return out


def save_item(
    state: XeroState,
    tenant: str,
    entity: dict[str, Any],
    existing: dict[str, Any] | None,
    unitdp: int,
) -> tuple[dict[str, Any], list[str]]:
    errors: list[str] = []
    doc = dict(existing or {})
    doc.update({k: entity[k] for k in WRITABLE if k in entity})
    for side in ("SalesDetails", "PurchaseDetails"):
        if side in entity:
            doc[side] = _details(entity[side], errors, unitdp)
    code = str(doc.get("Code") or "").strip()
    # Wordings below are UNCONFIRMED; the rules (Code required, <= 30, unique) are xero.md 5.
    if not code:
        errors.append("Item code must be specified")
    elif len(code) > 30:
        errors.append("The item code must not be more than 30 characters long.")
    if len(str(doc.get("Name") or "")) > 50:
        errors.append("The item name must not be more than 50 characters long.")
    item_id = (existing or {}).get("ItemID")
    clash = find_item(state, tenant, code) if code else None
    if clash is not None and clash["ItemID"] != item_id:
        errors.append(f"Item code '{code}' already exists")
    if errors:
        return entity, errors
    doc.update(Code=code, ItemID=item_id or new_id(), UpdatedDateUTC=state.now_ms(), _tenant=tenant)
    doc.setdefault("Name", code)
    doc.setdefault("IsSold", bool(doc.get("SalesDetails")))
    doc.setdefault("IsPurchased", bool(doc.get("PurchaseDetails")))
    doc.setdefault("IsTrackedAsInventory", False)
    state.store.put("xero:item", doc["ItemID"], doc, scope=tenant)
    return doc, []


def _unitdp(request: Request) -> int:
    return 4 if request.query_params.get("unitdp") == "4" else 2


def _shown(item: dict[str, Any], unitdp: int) -> dict[str, Any]:
    out = dict(item)
    for side in ("SalesDetails", "PurchaseDetails"):
        details = out.get(side)
        if isinstance(details, dict) and "UnitPrice" in details:
            price = rules.unit(rules.to_decimal(details["UnitPrice"]) or rules.CENT * 0, unitdp)
            out[side] = dict(details, UnitPrice=str(price))
    return out


@router.get("/Items", response_model=None)
async def list_items(request: Request) -> Response:
    docs = state_of(request).store.all("xero:item", scope=ctx(request)["tenant_id"])
    try:
        docs = query.modified_since(docs, request.headers.get("if-modified-since"))
        docs = query.where(docs, request.query_params.get("where"))
        docs = query.order(docs, request.query_params.get("order"))
    except query.QueryError as exc:
        return bad_request(request, str(exc))
    unitdp = _unitdp(request)
    return respond(request, "Items", [_shown(d, unitdp) for d in docs])


@router.get("/Items/{ref}", response_model=None)
async def get_item(request: Request, ref: str) -> Response:
    found = find_item(state_of(request), ctx(request)["tenant_id"], ref)
    if found is None:
        return not_found(request)
    return respond(request, "Items", [_shown(found, _unitdp(request))])


@router.put("/Items", response_model=None)
async def create_items(request: Request) -> Response:
    state, tenant, unitdp = state_of(request), ctx(request)["tenant_id"], _unitdp(request)
    return await batch.run(request, "Items", lambda e: save_item(state, tenant, e, None, unitdp))


@router.post("/Items", response_model=None)
async def create_or_update_items(request: Request) -> Response:
    state, tenant, unitdp = state_of(request), ctx(request)["tenant_id"], _unitdp(request)

    def handle(entity: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        ref = entity.get("ItemID") or entity.get("Code")
        existing = find_item(state, tenant, str(ref)) if ref else None
        return save_item(state, tenant, entity, existing, unitdp)

    return await batch.run(request, "Items", handle)


@router.post("/Items/{ref}", response_model=None)
async def update_item(request: Request, ref: str) -> Response:
    state, tenant, unitdp = state_of(request), ctx(request)["tenant_id"], _unitdp(request)
    existing = find_item(state, tenant, ref)
    if existing is None:
        return not_found(request)
    return await batch.run(
        request, "Items", lambda e: save_item(state, tenant, e, existing, unitdp)
    )
