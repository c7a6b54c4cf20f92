"""Pipelines and stages (API v2 ``/pipelines``, ``/stages``), and the deal list's
``updated_since`` filter the polling backstop uses (lifecycle-and-billing.md §3.3).

Every company has the default "Sales pipeline" (id 1) with five stages (ids 1-5) until the
control API deletes one (``DELETE /_sandbox/pipedrive/companies/{id}/stages/{stage_id}``);
a deleted stage answers 404 like a real one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from sandbox.pipedrive.api.common import ApiContext, api_call, ok, paginate, parse_id
from sandbox.pipedrive.errors import PipedriveError
from sandbox.pipedrive.limits import COSTS
from sandbox.pipedrive.state import Data

STAGES = ("Qualified", "Contact made", "Proposal made", "Negotiations started", "Invoice")
Ctx = Annotated[ApiContext, Depends(api_call(COSTS["stages"]))]


def stages(data: Data, company_id: int) -> list[dict[str, Any]]:
    """The company's stages, the default ones written on first use."""
    rows = data.items("stage", company_id)
    if not rows:
        for n, name in enumerate(STAGES, start=1):
            data.put(
                "stage",
                company_id,
                {"id": n, "name": name, "pipeline_id": 1, "order_nr": n, "is_deleted": False},
            )
        rows = data.items("stage", company_id)
    return sorted(rows, key=lambda s: s["order_nr"])


def delete_stage(data: Data, company_id: int, stage_id: int) -> bool:
    for stage in stages(data, company_id):
        if stage["id"] == stage_id and not stage["is_deleted"]:
            data.put("stage", company_id, {**stage, "is_deleted": True})
            return True
    return False


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/pipelines")
    async def list_pipelines(ctx: Ctx) -> dict[str, Any]:
        return ok([{"id": 1, "name": "Sales pipeline", "order_nr": 1, "is_deleted": False}])

    @r.get("/stages")
    async def list_stages(
        ctx: Ctx,
        pipeline_id: str | None = None,
        cursor: str | None = None,
        limit: str | None = None,
    ) -> dict[str, Any]:
        rows = [s for s in stages(ctx.data, ctx.company_id) if not s["is_deleted"]]
        if pipeline_id is not None:
            wanted = parse_id(pipeline_id, "pipeline_id")
            rows = [s for s in rows if s["pipeline_id"] == wanted]
        page, extra = paginate(rows, cursor, limit)
        return ok(page, extra)

    @r.get("/stages/{stage_id}")
    async def get_stage(ctx: Ctx, stage_id: str) -> dict[str, Any]:
        number = parse_id(stage_id, "id")
        found = [s for s in stages(ctx.data, ctx.company_id) if s["id"] == number]
        if not found or found[0]["is_deleted"]:
            raise PipedriveError(404, "Stage not found")
        return ok(found[0])

    return r
