"""Deal installments (API v2, GA 2026-01-30; lifecycle-and-billing.md §3.7), with the rules
Pipedrive states for them:

* ``GET /deals/installments?deal_ids=`` (≤100 ids, ``cursor``, ``limit`` ≤500, ``sort_by``
  ``id|billing_date|deal_id``, ``sort_direction``);
* ``POST /deals/{id}/installments`` with ``description``, ``amount`` (> 0) and
  ``billing_date`` (``YYYY-MM-DD``), all required; ``PATCH`` any of them; ``DELETE``;
* only on Growth plans and up, and only on a deal with at least one one-time product and no
  recurring product (installments and recurring products exclude each other).

Items are ``{id, deal_id, description, amount, billing_date}``: no currency (the deal's).
The status Pipedrive answers below Growth is UNCONFIRMED: 402 with the plan in words.
The control route ``POST /_sandbox/pipedrive/deals/{id}/installments`` adds one as a user
would in Pipedrive, through the same rules.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from sandbox.pipedrive.api.common import ApiContext, api_call, ok, paginate, parse_id, parse_ids
from sandbox.pipedrive.api.v2 import deal_or_404
from sandbox.pipedrive.errors import PipedriveError
from sandbox.pipedrive.rules import number
from sandbox.pipedrive.state import Pipedrive, pipedrive_of

KIND = "deal_installment"
SORTS = ("id", "billing_date", "deal_id")
GROWTH_AND_UP = ("growth", "premium", "ultimate")
# Priced like the deal products list and a v2 write (UNCONFIRMED: not in our cost table).
ListCtx = Annotated[ApiContext, Depends(api_call(10))]
WriteCtx = Annotated[ApiContext, Depends(api_call(10))]


def invalid(field: str, message: str) -> PipedriveError:
    return PipedriveError(400, f"Validation failed: {field}: {message}")


def checked(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The body's fields as Pipedrive validates them (all three required unless ``partial``)."""
    if not isinstance(body, dict):
        raise PipedriveError(400, "Validation failed: body must be an object")
    unknown = set(body) - {"description", "amount", "billing_date"}
    if unknown:
        raise invalid(sorted(unknown)[0], "Parameter is not allowed")
    out: dict[str, Any] = {}
    for name in ("description", "amount", "billing_date"):
        if name not in body:
            if not partial:
                raise invalid(name, "Parameter is required")
            continue
        out[name] = field_value(name, body[name])
    return out


def field_value(name: str, value: Any) -> Any:
    if name == "description":
        if not isinstance(value, str) or not value.strip():
            raise invalid(name, "Parameter must be a non-empty string")
        return value
    if name == "amount":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise invalid(name, "Parameter must be a number")
        try:
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise invalid(name, "Parameter must be a number") from exc
        if not amount.is_finite() or amount <= 0:
            raise invalid(name, "Parameter must be greater than 0")
        return number(amount)
    try:
        return date.fromisoformat(str(value)).isoformat() if len(str(value)) == 10 else None
    except ValueError:
        pass
    raise invalid(name, "Parameter must be a date in YYYY-MM-DD format")


def allowed_on(pd: Pipedrive, company: dict[str, Any], deal: dict[str, Any]) -> None:
    """Growth plans and up; a deal with a one-time product and no recurring one."""
    if str(company.get("plan") or "lite") not in GROWTH_AND_UP:
        raise PipedriveError(402, "Installments are available on the Growth plan and higher")
    lines = pd.data.deal_lines(int(company["id"]), int(deal["id"]))
    frequencies = {str(line.get("billing_frequency") or "one-time") for line in lines}
    if frequencies - {"one-time"}:
        raise PipedriveError(
            400, "Installments cannot be added to a deal that has recurring products"
        )
    if "one-time" not in frequencies:
        raise PipedriveError(400, "Installments need at least one one-time product on the deal")


def add(pd: Pipedrive, company: dict[str, Any], deal: dict[str, Any], body: Any) -> dict[str, Any]:
    fields = checked(body, partial=False)
    allowed_on(pd, company, deal)
    item = {
        "id": pd.sandbox.store.next_seq("pipedrive:installment"),
        "deal_id": deal["id"],
        **fields,
    }
    pd.data.put(KIND, int(company["id"]), item)
    return item


def of_deal(ctx: ApiContext, deal_id: str, installment_id: str) -> dict[str, Any]:
    deal = deal_or_404(ctx, deal_id)
    item = ctx.data.get(KIND, ctx.company_id, parse_id(installment_id, "installment_id"))
    if item is None or item["deal_id"] != deal["id"]:
        raise PipedriveError(404, "Installment not found")
    return item


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/deals/installments")
    async def list_installments(
        ctx: ListCtx,
        deal_ids: str | None = None,
        cursor: str | None = None,
        limit: str | None = None,
        sort_by: str | None = None,
        sort_direction: str | None = None,
    ) -> dict[str, Any]:
        if not deal_ids:
            raise invalid("deal_ids", "Parameter is required")
        wanted = set(parse_ids(deal_ids, "deal_ids"))
        key = sort_by or "id"
        if key not in SORTS:
            raise invalid("sort_by", f"Parameter must be one of {', '.join(SORTS)}")
        if (sort_direction or "asc") not in ("asc", "desc"):
            raise invalid("sort_direction", "Parameter must be one of asc, desc")
        items = [i for i in ctx.data.items(KIND, ctx.company_id) if i["deal_id"] in wanted]
        items.sort(key=lambda i: (i[key], i["id"]), reverse=sort_direction == "desc")
        page, extra = paginate(items, cursor, limit)
        return ok(page, extra)

    @r.post("/deals/{deal_id}/installments")
    async def add_installment(ctx: WriteCtx, deal_id: str, request: Request) -> dict[str, Any]:
        body = await request.json()
        return ok(add(ctx.pd, ctx.company, deal_or_404(ctx, deal_id), body))

    @r.patch("/deals/{deal_id}/installments/{installment_id}")
    async def edit_installment(
        ctx: WriteCtx, deal_id: str, installment_id: str, request: Request
    ) -> dict[str, Any]:
        item = of_deal(ctx, deal_id, installment_id)
        item.update(checked(await request.json(), partial=True))
        ctx.data.put(KIND, ctx.company_id, item)
        return ok(item)

    @r.delete("/deals/{deal_id}/installments/{installment_id}")
    async def delete_installment(
        ctx: WriteCtx, deal_id: str, installment_id: str
    ) -> dict[str, Any]:
        item = of_deal(ctx, deal_id, installment_id)
        ctx.data.delete(KIND, ctx.company_id, item["id"])
        return ok({"id": item["id"]})

    return r


def control_router() -> APIRouter:
    r = APIRouter(prefix="/_sandbox/pipedrive", tags=["control: pipedrive"])

    @r.post("/deals/{deal_id}/installments", status_code=201)
    async def add_as_user(request: Request, deal_id: int) -> dict[str, Any]:
        """Add an installment to a deal as a user would in Pipedrive (same rules as the API)."""
        pd = pipedrive_of(request)
        found = pd.data.find_deal(deal_id)
        if found is None:
            raise HTTPException(404, f"no deal {deal_id}")
        company = pd.data.company(found[0])
        assert company is not None
        try:
            return add(pd, company, found[1], await request.json())
        except PipedriveError as exc:
            raise HTTPException(exc.status, exc.message) from exc

    return r
