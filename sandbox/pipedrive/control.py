"""The Pipedrive stand-in's control API under /_sandbox/pipedrive: non-interactive consent,
uninstalls, rate-limit plans, deal changes (which fire v2 webhooks), registered invoice links.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from sandbox.pipedrive.api.pipelines import delete_stage, stages
from sandbox.pipedrive.api.webhooks import remove_owned
from sandbox.pipedrive.control_changes import change_routes, company_or_404
from sandbox.pipedrive.limits import PLAN_MULTIPLIER
from sandbox.pipedrive.rules import (
    DISCOUNT_TYPES,
    TAX_METHODS,
    billing_problem,
    make_line,
    recompute_value,
)
from sandbox.pipedrive.state import Pipedrive, pipedrive_of, rfc3339
from sandbox.pipedrive.webhooks import send_event, send_line_events, send_uninstall

DEAL_STATUSES = ("open", "won", "lost")


MAX_RECURRING = 20


class AutoApprove(BaseModel):
    user_id: int | None = None
    deny: bool = False
    scope: str | None = Field(None, description="the grant's scopes (comma-separated); default all")


class Uninstall(BaseModel):
    user_id: int
    company_id: int


class Limits(BaseModel):
    plan: str | None = Field(None, description="lite | growth | premium | ultimate")
    daily_budget: int | None = Field(None, ge=0, description="tokens per day; null = by plan")
    burst_limit: int | None = Field(None, ge=0, description="calls per 2 s; null = by plan")


class LineIn(BaseModel):
    product_id: int
    quantity: float = Field(1, gt=0)
    item_price: float | None = None
    discount: float = 0
    discount_type: str = "percentage"
    tax: float | None = None
    comments: str = ""
    billing_frequency: str = "one-time"
    billing_frequency_cycles: int | None = None
    billing_start_date: str | None = None


class DealIn(BaseModel):
    company_id: int
    title: str = Field(min_length=1)
    currency: str | None = None
    value: float = 0
    org_id: int | None = None
    person_id: int | None = None
    user_id: int | None = Field(None, description="owner and acting user; default the admin")
    tax_method: str = "exclusive"
    expected_close_date: str | None = None
    products: list[LineIn] = []


class DealPatch(BaseModel):
    title: str | None = Field(None, min_length=1)
    value: float | None = None
    currency: str | None = None
    status: str | None = None
    stage_id: int | None = Field(None, description="move the deal to this stage (fires change)")
    notify: bool = Field(True, description="false: a change whose webhook Pipedrive never sent")
    org_id: int | None = None
    person_id: int | None = None
    tax_method: str | None = None
    products: list[LineIn] | None = None
    user_id: int | None = Field(None, description="the acting user in the webhook's meta")


def _replace_lines(
    pd: Pipedrive, cid: int, deal: dict[str, Any], lines: list[LineIn], tax_method: str, now: str
) -> list[dict[str, Any]]:
    if tax_method not in TAX_METHODS:
        raise HTTPException(422, f"tax_method must be one of {', '.join(TAX_METHODS)}")
    products = []
    for line in lines:
        product = pd.data.get("product", cid, line.product_id)
        if product is None:
            raise HTTPException(422, f"no product {line.product_id} in company {cid}")
        if line.discount_type not in DISCOUNT_TYPES:
            raise HTTPException(422, f"discount_type must be one of {', '.join(DISCOUNT_TYPES)}")
        problem = billing_problem(
            line.billing_frequency, line.billing_frequency_cycles, line.billing_start_date
        )
        if problem:
            raise HTTPException(422, problem)
        products.append((line, product))
    if sum(1 for line, _ in products if line.billing_frequency != "one-time") > MAX_RECURRING:
        raise HTTPException(422, f"A deal has at most {MAX_RECURRING} recurring products")
    for old in pd.data.deal_lines(cid, deal["id"]):
        pd.data.delete("deal_product", cid, old["id"])
    stored = []
    for n, (line, product) in enumerate(products, start=1):
        quantity = int(line.quantity) if line.quantity == int(line.quantity) else line.quantity
        new = make_line(
            line_id=50_000 + pd.sandbox.store.next_seq("pipedrive:deal_product"),
            deal=deal,
            product=product,
            order_nr=n,
            quantity=quantity,
            item_price=line.item_price,
            discount=line.discount,
            discount_type=line.discount_type,
            tax=line.tax,
            tax_method=tax_method,
            comments=line.comments,
            now=now,
        )
        new["billing_frequency"] = line.billing_frequency
        new["billing_frequency_cycles"] = line.billing_frequency_cycles
        new["billing_start_date"] = line.billing_start_date
        pd.data.put_line(cid, new)
        stored.append(new)
    return stored


def _check_links(pd: Pipedrive, cid: int, org_id: int | None, person_id: int | None) -> None:
    if org_id is not None and pd.data.get("organization", cid, org_id) is None:
        raise HTTPException(422, f"no organization {org_id} in company {cid}")
    if person_id is not None and pd.data.get("person", cid, person_id) is None:
        raise HTTPException(422, f"no person {person_id} in company {cid}")


def make_deal(pd: Pipedrive, body: DealIn) -> dict[str, Any]:
    """Create a deal as a user would; fires a `create` webhook."""
    company = company_or_404(pd, body.company_id)
    cid = company["id"]
    _check_links(pd, cid, body.org_id, body.person_id)
    users = pd.data.users(cid)
    owner = body.user_id or next(u["id"] for u in users if u["is_admin"])
    now = pd.sandbox.clock.now()
    stamp = rfc3339(now)
    deal: dict[str, Any] = {
        "id": 1000 + pd.sandbox.store.next_seq("pipedrive:deal"),
        "title": body.title,
        "value": body.value,
        "currency": body.currency or company["default_currency"],
        "owner_id": owner,
        "person_id": body.person_id,
        "org_id": body.org_id,
        "pipeline_id": 1,
        "stage_id": 1,
        "status": "open",
        "add_time": stamp,
        "update_time": stamp,
        "stage_change_time": None,
        "close_time": None,
        "won_time": None,
        "lost_time": None,
        "expected_close_date": body.expected_close_date,
        "probability": None,
        "lost_reason": None,
        "label_ids": [],
        "is_deleted": False,
        "is_archived": False,
        "archive_time": None,
        "visible_to": 3,
        "origin": "ManuallyCreated",
        "origin_id": None,
        "channel": None,
        "channel_id": None,
        "arr": None,
        "mrr": None,
        "acv": None,
        "custom_fields": {f["key"]: None for f in pd.data.fields(cid, "deal") if f["is_custom"]},
    }
    lines = _replace_lines(pd, cid, deal, body.products, body.tax_method, stamp)
    recompute_value(deal, lines, [])
    pd.data.put("deal", cid, deal)
    sent = send_event(pd, company, "deal", "create", deal["id"], deal, None, owner)
    sent += send_line_events(pd, company, [], lines, owner)
    return {"deal": deal, "products": lines, "webhooks": [d.id for d in sent]}


def edit_deal(pd: Pipedrive, deal_id: int, body: DealPatch) -> dict[str, Any]:
    """Change a deal's title, value, currency, status, links or products; fires `change`."""
    found = pd.data.find_deal(deal_id)
    if found is None or found[1]["is_deleted"]:
        raise HTTPException(404, f"no deal {deal_id}")
    cid, deal = found
    company = company_or_404(pd, cid)
    before = dict(deal)
    now = pd.sandbox.clock.now()
    stamp = rfc3339(now)
    changes = body.model_dump(
        exclude_unset=True, exclude={"products", "user_id", "tax_method", "notify"}
    )
    if "status" in changes and changes["status"] not in DEAL_STATUSES:
        raise HTTPException(422, f"status must be one of {', '.join(DEAL_STATUSES)}")
    _check_links(pd, cid, changes.get("org_id"), changes.get("person_id"))
    if "stage_id" in changes:
        stage = next((x for x in stages(pd.data, cid) if x["id"] == changes["stage_id"]), None)
        if stage is None or stage["is_deleted"]:
            raise HTTPException(422, f"no stage {changes['stage_id']} in company {cid}")
        changes["pipeline_id"] = stage["pipeline_id"]
        if changes["stage_id"] != before["stage_id"]:
            deal["stage_change_time"] = stamp
    deal.update(changes)
    if "status" in changes and changes["status"] != before["status"]:
        closed = changes["status"] in ("won", "lost")
        deal["close_time"] = stamp if closed else None
        deal["won_time"] = stamp if changes["status"] == "won" else None
        deal["lost_time"] = stamp if changes["status"] == "lost" else None
    lines = old_lines = pd.data.deal_lines(cid, deal_id)
    if body.products is not None or body.tax_method is not None:
        method = body.tax_method or (lines[0]["tax_method"] if lines else "exclusive")
        wanted = body.products
        if wanted is None:
            wanted = [
                LineIn(
                    product_id=x["product_id"],
                    quantity=x["quantity"],
                    item_price=x["item_price"],
                    discount=x["discount"],
                    discount_type=x["discount_type"],
                    tax=x["tax"],
                    comments=x["comments"],
                )
                for x in lines
            ]
        lines = _replace_lines(pd, cid, deal, wanted, method, stamp)
    for line in lines:
        line["currency"] = deal["currency"]
        pd.data.put_line(cid, line)
    recompute_value(deal, lines, pd.data.deal_discounts(cid, deal_id))
    previous = {k: before[k] for k in deal if deal[k] != before.get(k)}
    deal["update_time"] = stamp
    if previous:
        previous["update_time"] = before["update_time"]
    pd.data.put("deal", cid, deal)
    user = body.user_id or deal["owner_id"]
    if not body.notify:
        return {"deal": deal, "products": lines, "previous": previous, "webhooks": []}
    sent = send_event(pd, company, "deal", "change", deal_id, deal, previous, user)
    if lines is not old_lines:
        sent += send_line_events(pd, company, old_lines, lines, user)
    hooks = [d.id for d in sent]
    return {"deal": deal, "products": lines, "previous": previous, "webhooks": hooks}


def router() -> APIRouter:
    r = APIRouter(prefix="/_sandbox/pipedrive", tags=["control: pipedrive"])
    r.include_router(install_routes())
    r.include_router(company_routes())
    r.include_router(deal_routes())
    r.include_router(change_routes())
    return r


def install_routes() -> APIRouter:
    """Consent, installs and uninstalls."""
    r = APIRouter()

    @r.post("/auto-approve")
    async def auto_approve(request: Request, body: AutoApprove) -> dict[str, Any]:
        """Answer the consent page without a person: approve as `user_id`, or deny."""
        pd = pipedrive_of(request)
        if not body.deny and (body.user_id is None or pd.data.user(body.user_id) is None):
            raise HTTPException(404, f"no Pipedrive user {body.user_id}")
        pd.auto_approve = body.model_dump()
        return {"auto_approve": pd.auto_approve}

    @r.delete("/auto-approve")
    async def interactive(request: Request) -> dict[str, Any]:
        """Back to the interactive consent page."""
        pipedrive_of(request).auto_approve = None
        return {"auto_approve": None}

    @r.get("/installs")
    async def installs(request: Request) -> list[dict[str, Any]]:
        """Every consent given (one per approval), revoked or not."""
        return pipedrive_of(request).grants.installs()

    @r.post("/uninstall")
    async def uninstall(request: Request, body: Uninstall) -> dict[str, Any]:
        """The user uninstalls: revoke that install, then DELETE the app's callback URL."""
        pd = pipedrive_of(request)
        user = pd.data.user(body.user_id)
        company_or_404(pd, body.company_id)
        if user is None or user["company_id"] != body.company_id:
            raise HTTPException(404, f"no user {body.user_id} in company {body.company_id}")
        # Whether tokens still work when the DELETE arrives is UNCONFIRMED (reference §2):
        # they are dead here, so the app cannot depend on them.
        revoked = pd.grants.uninstall(body.company_id, body.user_id)
        # App webhooks are deleted on uninstall (reference §6): those this user's install made.
        removed = remove_owned(pd, body.company_id, body.user_id)
        outcome = await send_uninstall(pd, body.company_id, body.user_id)
        return {**outcome, "revoked_grants": revoked, "removed_webhooks": removed}

    return r


def company_routes() -> APIRouter:
    """Rate-limit plans, registered invoice links and the uninstall log."""
    r = APIRouter()

    @r.get("/companies/{company_id}/limits")
    async def get_limits(request: Request, company_id: int) -> dict[str, Any]:
        pd = pipedrive_of(request)
        company = company_or_404(pd, company_id)
        seats = len(pd.data.users(company_id))
        return {
            "plan": pd.limits.plan(company),
            "daily_budget": pd.limits.daily_budget(company, seats),
            "burst_limit": pd.limits.burst_limit(company),
            "used_today": pd.limits.used_today(company_id),
        }

    @r.post("/companies/{company_id}/limits")
    async def set_limits(request: Request, company_id: int, body: Limits) -> dict[str, Any]:
        """Change the company's plan, or override its daily budget / burst limit."""
        pd = pipedrive_of(request)
        company = company_or_404(pd, company_id)
        if body.plan is not None and body.plan not in PLAN_MULTIPLIER:
            raise HTTPException(422, f"plan must be one of {', '.join(PLAN_MULTIPLIER)}")
        for name in body.model_fields_set:
            company[name] = getattr(body, name) if name != "plan" else (body.plan or "lite")
        pd.data.put_company(company)
        return await get_limits(request, company_id)

    @r.get("/invoice-links")
    async def invoice_links(request: Request) -> list[dict[str, Any]]:
        """Invoicing extension links registered through POST /api/v1/invoice/user/provider."""
        return pipedrive_of(request).sandbox.store.all("pipedrive:invoice_link")

    @r.get("/uninstalls")
    async def uninstalls(request: Request) -> list[dict[str, Any]]:
        return list(pipedrive_of(request).uninstalls)

    return r


def deal_routes() -> APIRouter:
    """Deal changes, each firing the v2 webhook a real change would."""
    r = APIRouter()

    @r.post("/deals", status_code=201)
    async def create_deal(request: Request, body: DealIn) -> dict[str, Any]:
        """Create a deal as a user would; fires a `create` webhook."""
        return make_deal(pipedrive_of(request), body)

    @r.patch("/deals/{deal_id}")
    async def change_deal(request: Request, deal_id: int, body: DealPatch) -> dict[str, Any]:
        """Change a deal's title, value, currency, status, links or products; fires `change`."""
        return edit_deal(pipedrive_of(request), deal_id, body)

    @r.delete("/companies/{company_id}/stages/{stage_id}")
    async def remove_stage(request: Request, company_id: int, stage_id: int) -> dict[str, Any]:
        """Delete a pipeline stage (rules naming it must notice)."""
        pd = pipedrive_of(request)
        company_or_404(pd, company_id)
        if not delete_stage(pd.data, company_id, stage_id):
            raise HTTPException(404, f"no stage {stage_id} in company {company_id}")
        return {"deleted": stage_id}

    @r.delete("/deals/{deal_id}")
    async def delete_deal(
        request: Request, deal_id: int, user_id: int | None = None
    ) -> dict[str, Any]:
        """Delete a deal (kept, flagged `is_deleted`); fires `delete` with data null."""
        pd = pipedrive_of(request)
        found = pd.data.find_deal(deal_id)
        if found is None or found[1]["is_deleted"]:
            raise HTTPException(404, f"no deal {deal_id}")
        cid, deal = found
        before = dict(deal)
        deal.update(is_deleted=True, status="deleted", update_time=rfc3339(pd.sandbox.clock.now()))
        pd.data.put("deal", cid, deal)
        sent = send_event(
            pd,
            company_or_404(pd, cid),
            "deal",
            "delete",
            deal_id,
            None,
            before,
            user_id or deal["owner_id"],
        )
        return {"deal": deal, "webhooks": [d.id for d in sent]}

    return r
