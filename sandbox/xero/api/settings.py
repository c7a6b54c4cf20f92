"""Organisation settings endpoints (read-only here): Organisation, Users, Currencies, TaxRates,
Accounts and BrandingThemes (xero.md sections 3, 6-9)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.xero.api import query
from sandbox.xero.api.common import bad_request, ctx, not_found, respond, state_of

router = APIRouter()


def _listed(request: Request, kind: str, plural: str, default_order: str | None = None) -> Response:
    state = state_of(request)
    docs = state.store.all(kind, scope=ctx(request)["tenant_id"])
    try:
        docs = query.modified_since(docs, request.headers.get("if-modified-since"))
        docs = query.where(docs, request.query_params.get("where"))
        docs = query.order(docs, request.query_params.get("order") or default_order)
    except query.QueryError as exc:
        return bad_request(request, str(exc))
    return respond(request, plural, docs)


@router.get("/Organisation", response_model=None)
async def organisation(request: Request) -> Response:
    org = state_of(request).org(ctx(request)["tenant_id"])
    return respond(request, "Organisations", [org] if org else [])


def user_view(user: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    return {
        "UserID": user["UserID"],
        "EmailAddress": user["EmailAddress"],
        "FirstName": user["FirstName"],
        "LastName": user["LastName"],
        "UpdatedDateUTC": user["UpdatedDateUTC"],
        "IsSubscriber": user.get("IsSubscriber", False),
        "OrganisationRole": user["roles"][tenant_id],
    }


@router.get("/Users", response_model=None)
async def users(request: Request) -> Response:
    tenant = ctx(request)["tenant_id"]
    docs = [user_view(u, tenant) for u in state_of(request).users() if tenant in u["roles"]]
    try:
        docs = query.modified_since(docs, request.headers.get("if-modified-since"))
        docs = query.where(docs, request.query_params.get("where"))
        docs = query.order(docs, request.query_params.get("order"))
    except query.QueryError as exc:
        return bad_request(request, str(exc))
    return respond(request, "Users", docs)


@router.get("/Users/{user_id}", response_model=None)
async def user(request: Request, user_id: str) -> Response:
    tenant = ctx(request)["tenant_id"]
    found = state_of(request).user(user_id.lower())
    if found is None or tenant not in found["roles"]:
        return not_found(request)
    return respond(request, "Users", [user_view(found, tenant)])


@router.get("/Currencies", response_model=None)
async def currencies(request: Request) -> Response:
    return _listed(request, "xero:currency", "Currencies")


@router.get("/TaxRates", response_model=None)
async def tax_rates(request: Request) -> Response:
    return _listed(request, "xero:taxrate", "TaxRates")


@router.get("/TaxRates/{tax_type}", response_model=None)
async def tax_rate(request: Request, tax_type: str) -> Response:
    tenant = ctx(request)["tenant_id"]
    found = state_of(request).store.get("xero:taxrate", f"{tenant}:{tax_type.upper()}")
    return respond(request, "TaxRates", [found]) if found else not_found(request)


@router.get("/Accounts", response_model=None)
async def accounts(request: Request) -> Response:
    return _listed(request, "xero:account", "Accounts")


@router.get("/Accounts/{account_id}", response_model=None)
async def account(request: Request, account_id: str) -> Response:
    tenant = ctx(request)["tenant_id"]
    found = state_of(request).store.get("xero:account", account_id.lower())
    if found is None or found["_tenant"] != tenant:
        return not_found(request)
    return respond(request, "Accounts", [found])


@router.get("/BrandingThemes", response_model=None)
async def branding_themes(request: Request) -> Response:
    return _listed(request, "xero:theme", "BrandingThemes", default_order="SortOrder")


@router.get("/BrandingThemes/{theme_id}", response_model=None)
async def branding_theme(request: Request, theme_id: str) -> Response:
    tenant = ctx(request)["tenant_id"]
    found = state_of(request).store.get("xero:theme", theme_id.lower())
    if found is None or found["_tenant"] != tenant:
        return not_found(request)
    return respond(request, "BrandingThemes", [found])
