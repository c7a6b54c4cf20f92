"""API v2 endpoints we use (reference §4.2/§4.3): deals, deal products (one deal or a batch),
deal discounts, products (one or by ids), organizations and persons.

Deleted deals: v2's deal schema carries ``is_deleted`` and its status filter knows
``deleted``, so a single-deal GET still answers a deleted deal (with ``is_deleted: true``,
``status: "deleted"``) while lists leave deleted and archived deals out (changelog
2025-07-15). A client must therefore check ``is_deleted`` itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from sandbox.pipedrive.api.common import ApiContext, api_call, ok, paginate, parse_id, parse_ids
from sandbox.pipedrive.errors import PipedriveError
from sandbox.pipedrive.limits import COSTS
from sandbox.pipedrive.state import rfc3339

LINE_SORTS = ("id", "add_time", "update_time", "order_nr")
DEAL_STATUSES = ("open", "won", "lost", "deleted", "all_not_deleted")


DealCtx = Annotated[ApiContext, Depends(api_call(COSTS["deal"]))]
DealsCtx = Annotated[ApiContext, Depends(api_call(COSTS["deals_list"]))]
LinesCtx = Annotated[ApiContext, Depends(api_call(COSTS["deal_products"]))]
DiscountsCtx = Annotated[ApiContext, Depends(api_call(COSTS["deal_discounts"]))]
ProductCtx = Annotated[ApiContext, Depends(api_call(COSTS["product"]))]
ProductsCtx = Annotated[ApiContext, Depends(api_call(COSTS["products_list"]))]
OrgCtx = Annotated[ApiContext, Depends(api_call(COSTS["organization"]))]
PersonCtx = Annotated[ApiContext, Depends(api_call(COSTS["person"]))]


def _pick_custom_fields(item: dict[str, Any], custom_fields: str | None) -> dict[str, Any]:
    """``custom_fields=key1,key2`` limits which custom fields come back (max 15 in v2)."""
    if not custom_fields:
        return item
    wanted = {k.strip() for k in custom_fields.split(",") if k.strip()}
    if len(wanted) > 15:
        raise PipedriveError(
            400, "Validation failed: custom_fields: Parameter must contain at most 15 items"
        )
    picked = {k: v for k, v in item["custom_fields"].items() if k in wanted}
    return {**item, "custom_fields": picked}


def _sorted_lines(
    lines: list[dict[str, Any]], sort_by: str | None, sort_direction: str | None
) -> list[dict[str, Any]]:
    key = sort_by or "id"
    if key not in LINE_SORTS:
        raise PipedriveError(
            400, f"Validation failed: sort_by: Parameter must be one of {', '.join(LINE_SORTS)}"
        )
    direction = (sort_direction or "asc").lower()
    if direction not in ("asc", "desc"):
        raise PipedriveError(
            400, "Validation failed: sort_direction: Parameter must be one of asc, desc"
        )
    return sorted(lines, key=lambda line: (line[key], line["id"]), reverse=direction == "desc")


DEAL_SORTS = ("id", "update_time", "add_time")


def rfc3339_or_400(raw: str, what: str) -> str:
    """An RFC 3339 time, normalised to the stand-in's own ``...Z`` form (compared as text)."""
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise PipedriveError(
            400, f"Validation failed: {what}: Parameter must be an RFC 3339 date-time"
        )
    return rfc3339(moment.astimezone(UTC))


def sorted_deals(
    deals: list[dict[str, Any]], sort_by: str | None, sort_direction: str | None
) -> list[dict[str, Any]]:
    key = sort_by or "id"
    if key not in DEAL_SORTS:
        raise PipedriveError(
            400, f"Validation failed: sort_by: Parameter must be one of {', '.join(DEAL_SORTS)}"
        )
    desc = (sort_direction or "asc").lower() == "desc"
    return sorted(deals, key=lambda d: (d.get(key) or "", d["id"]), reverse=desc)


def deal_or_404(ctx: ApiContext, raw_id: str) -> dict[str, Any]:
    deal = ctx.data.get("deal", ctx.company_id, parse_id(raw_id, "id"))
    if deal is None:
        raise PipedriveError(404, "Deal not found")
    return deal


def router() -> APIRouter:
    r = APIRouter()
    r.include_router(deal_list_routes())
    r.include_router(deal_routes())
    r.include_router(entity_routes())
    return r


def deal_list_routes() -> APIRouter:
    """Deals by filter or ids, and the products of many deals at once."""
    r = APIRouter()

    @r.get("/deals")
    async def list_deals(
        ctx: DealsCtx,
        ids: str | None = None,
        org_id: str | None = None,
        person_id: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: str | None = None,
        updated_since: str | None = None,
        sort_by: str | None = None,
        sort_direction: str | None = None,
    ) -> dict[str, Any]:
        """Deals of the company, by id (or ``sort_by`` id|update_time|add_time), deleted and
        archived deals left out; ``updated_since`` (RFC 3339) keeps those updated since."""
        wanted = set(parse_ids(ids, "ids")) if ids else None
        state = status or "all_not_deleted"
        if state not in DEAL_STATUSES:
            raise PipedriveError(
                400,
                f"Validation failed: status: Parameter must be one of {', '.join(DEAL_STATUSES)}",
            )
        org = parse_id(org_id, "org_id") if org_id else None
        person = parse_id(person_id, "person_id") if person_id else None
        deals = [
            d
            for d in ctx.data.items("deal", ctx.company_id)
            if not d["is_archived"]
            and (d["status"] == state if state != "all_not_deleted" else not d["is_deleted"])
            and (wanted is None or d["id"] in wanted)
            and (org is None or d["org_id"] == org)
            and (person is None or d["person_id"] == person)
        ]
        if updated_since is not None:
            since = rfc3339_or_400(updated_since, "updated_since")
            deals = [d for d in deals if d["update_time"] >= since]
        page, extra = paginate(sorted_deals(deals, sort_by, sort_direction), cursor, limit)
        return ok(page, extra)

    @r.get("/deals/products")
    async def products_of_deals(
        ctx: LinesCtx,
        deal_ids: str | None = None,
        cursor: str | None = None,
        limit: str | None = None,
        sort_by: str | None = None,
        sort_direction: str | None = None,
    ) -> dict[str, Any]:
        """The products attached to up to 100 deals at once."""
        lines: list[dict[str, Any]] = []
        for deal_id in dict.fromkeys(parse_ids(deal_ids, "deal_ids")):
            lines.extend(ctx.data.deal_lines(ctx.company_id, deal_id))
        page, extra = paginate(_sorted_lines(lines, sort_by, sort_direction), cursor, limit)
        return ok(page, extra)

    return r


def deal_routes() -> APIRouter:
    """One deal, its products and its discounts."""
    r = APIRouter()

    @r.get("/deals/{deal_id}")
    async def get_deal(
        ctx: DealCtx, deal_id: str, custom_fields: str | None = None
    ) -> dict[str, Any]:
        return ok(_pick_custom_fields(deal_or_404(ctx, deal_id), custom_fields))

    @r.get("/deals/{deal_id}/products")
    async def deal_products(
        ctx: LinesCtx,
        deal_id: str,
        cursor: str | None = None,
        limit: str | None = None,
        sort_by: str | None = None,
        sort_direction: str | None = None,
    ) -> dict[str, Any]:
        deal = deal_or_404(ctx, deal_id)
        lines = _sorted_lines(
            ctx.data.deal_lines(ctx.company_id, deal["id"]), sort_by, sort_direction
        )
        page, extra = paginate(lines, cursor, limit)
        return ok(page, extra)

    @r.get("/deals/{deal_id}/discounts")
    async def deal_discounts(ctx: DiscountsCtx, deal_id: str) -> dict[str, Any]:
        deal = deal_or_404(ctx, deal_id)
        return ok(ctx.data.deal_discounts(ctx.company_id, deal["id"]))

    return r


def entity_routes() -> APIRouter:
    """Products, organizations and persons."""
    r = APIRouter()

    @r.get("/products")
    async def list_products(
        ctx: ProductsCtx,
        ids: str | None = None,
        cursor: str | None = None,
        limit: str | None = None,
        custom_fields: str | None = None,
    ) -> dict[str, Any]:
        """Products, optionally only the given ids (≤100); deleted ones left out."""
        wanted = set(parse_ids(ids, "ids")) if ids else None
        products = [
            _pick_custom_fields(p, custom_fields)
            for p in ctx.data.items("product", ctx.company_id)
            if not p["is_deleted"] and (wanted is None or p["id"] in wanted)
        ]
        page, extra = paginate(sorted(products, key=lambda p: p["id"]), cursor, limit)
        return ok(page, extra)

    @r.get("/products/{product_id}")
    async def get_product(
        ctx: ProductCtx, product_id: str, custom_fields: str | None = None
    ) -> dict[str, Any]:
        product = ctx.data.get("product", ctx.company_id, parse_id(product_id, "id"))
        if product is None:
            raise PipedriveError(404, "Product not found")
        return ok(_pick_custom_fields(product, custom_fields))

    @r.get("/organizations/{org_id}")
    async def get_organization(
        ctx: OrgCtx, org_id: str, custom_fields: str | None = None
    ) -> dict[str, Any]:
        org = ctx.data.get("organization", ctx.company_id, parse_id(org_id, "id"))
        if org is None or org["is_deleted"]:
            raise PipedriveError(404, "Organization not found")
        return ok(_pick_custom_fields(org, custom_fields))

    @r.get("/persons/{person_id}")
    async def get_person(
        ctx: PersonCtx, person_id: str, custom_fields: str | None = None
    ) -> dict[str, Any]:
        person = ctx.data.get("person", ctx.company_id, parse_id(person_id, "id"))
        if person is None or person["is_deleted"]:
            raise PipedriveError(404, "Person not found")
        return ok(_pick_custom_fields(person, custom_fields))

    return r
