"""The control API's changes to a company's catalogue, which fire webhooks, and a look at the
webhook subscriptions apps registered (under /_sandbox/pipedrive)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from sandbox.pipedrive.api.webhooks import owned
from sandbox.pipedrive.state import Pipedrive, pipedrive_of, rfc3339
from sandbox.pipedrive.webhooks import send_event


class ProductPatch(BaseModel):
    name: str | None = Field(None, min_length=1)
    code: str | None = None
    description: str | None = None
    unit: str | None = None
    tax: float | None = Field(None, ge=0)
    user_id: int | None = Field(None, description="the acting user in the webhook's meta")


def company_or_404(pd: Pipedrive, company_id: int) -> dict[str, Any]:
    company = pd.data.company(company_id)
    if company is None:
        raise HTTPException(404, f"no Pipedrive company {company_id}")
    return company


def change_routes() -> APIRouter:
    """Product changes (each firing the v2 `change` webhook a real edit would) and the
    webhook subscriptions apps registered."""
    r = APIRouter()

    @r.patch("/companies/{company_id}/products/{product_id}")
    async def change_product(
        request: Request, company_id: int, product_id: int, body: ProductPatch
    ) -> dict[str, Any]:
        """Change a product's name, code, description, unit or tax; fires `change`."""
        pd = pipedrive_of(request)
        company = company_or_404(pd, company_id)
        product = pd.data.get("product", company_id, product_id)
        if product is None or product.get("is_deleted"):
            raise HTTPException(404, f"no product {product_id} in company {company_id}")
        changes = body.model_dump(exclude_unset=True, exclude={"user_id"})
        previous = {k: product[k] for k, v in changes.items() if product.get(k) != v}
        product.update(changes)
        if previous:
            previous["update_time"] = product["update_time"]
            product["update_time"] = rfc3339(pd.sandbox.clock.now())
        pd.data.put("product", company_id, product)
        user = body.user_id or product["owner_id"]
        sent = send_event(pd, company, "product", "change", product_id, product, previous, user)
        return {"product": product, "previous": previous, "webhooks": [d.id for d in sent]}

    @r.get("/webhooks")
    async def subscriptions(
        request: Request, company_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Every app webhook subscription (POST /v1/webhooks), of one company or all."""
        pd = pipedrive_of(request)
        ids = [company_id] if company_id is not None else [c["id"] for c in pd.data.companies()]
        return [hook for cid in ids for hook in owned(pd, cid)]

    return r
