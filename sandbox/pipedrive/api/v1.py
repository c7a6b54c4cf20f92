"""API v1 endpoints we use: ``/users/me``, ``/currencies`` and the Invoicing extension's
``POST /invoice/user/provider`` (field definitions live in fields.py).

Served under ``{api_domain}/api/v1`` and ``{api_domain}/v1`` (both forms work for real:
reference §1.1 and create-pipedrive-app's ``{api_domain}/v1/users/me``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request

from sandbox.pipedrive.api.common import ApiContext, api_call, ok
from sandbox.pipedrive.errors import PipedriveError
from sandbox.pipedrive.limits import COSTS
from sandbox.pipedrive.state import PREFIX

# (code, name, decimals, symbol)
CURRENCIES = [
    ("AUD", "Australian Dollar", 2, "A$"),
    ("CAD", "Canadian Dollar", 2, "CA$"),
    ("EUR", "Euro", 2, "€"),
    ("GBP", "British Pound Sterling", 2, "£"),
    ("JPY", "Japanese Yen", 0, "¥"),
    ("NZD", "New Zealand Dollar", 2, "NZ$"),
    ("SEK", "Swedish Krona", 2, "SEK"),
    ("USD", "US Dollar", 2, "$"),
]

REGISTRATION_FIELDS = ("linkId", "orgId", "marketplaceClientId")


def _offset(timezone_name: str, now: datetime) -> str:
    raw = now.astimezone(ZoneInfo(timezone_name)).strftime("%z")
    return f"{raw[:3]}:{raw[3:]}"


def me(ctx: ApiContext) -> dict[str, Any]:
    """The v1 user shape of ``GET /users/me`` (marketplace-getting-user-data's example)."""
    user, company = ctx.user, ctx.company
    return {
        "id": user["id"],
        "name": user["name"],
        "default_currency": user["default_currency"],
        "locale": user["locale"],
        "lang": 1,
        "email": user["email"],
        "phone": None,
        "activated": True,
        "last_login": user["created"],
        "created": user["created"],
        "modified": user["created"],
        "has_created_company": bool(user["is_admin"]),
        # The documented example prints 1/0 here, not a JSON boolean.
        "is_admin": 1 if user["is_admin"] else 0,
        "timezone_name": user["timezone_name"],
        "timezone_offset": _offset(user["timezone_name"], ctx.pd.sandbox.clock.now()),
        "active_flag": True,
        "role_id": 1,
        "icon_url": None,
        "is_you": True,
        "company_id": company["id"],
        "company_name": company["name"],
        "company_domain": company["domain"],
        "company_country": company["country"],
        "company_industry": "Software, App Development",
        "language": dict(user["language"]),
        # The user's rights per Pipedrive app (PDN v1 user model): admin flag and permission set.
        "access": [
            {
                "app": "sales",
                "admin": bool(user["is_admin"]),
                # Pipedrive's ids are per company (UUIDs); ours say whose and which.
                "permission_set_id": user.get("permission_set_id")
                or f"ps-{company['id']}-{'admin' if user['is_admin'] else 'regular'}",
            },
            {"app": "global", "admin": bool(user["is_admin"]), "permission_set_id": None},
        ],
    }


def router() -> APIRouter:
    r = APIRouter()
    r.include_router(account_routes())
    r.include_router(invoicing_routes())
    return r


def account_routes() -> APIRouter:
    """The caller and the company's currencies."""
    r = APIRouter()

    @r.get("/users/me")
    async def users_me(
        ctx: Annotated[ApiContext, Depends(api_call(COSTS["users_me"]))],
    ) -> dict[str, Any]:
        """The token's user in the token's company (installs are keyed by both)."""
        return ok(me(ctx))

    @r.get("/currencies")
    async def currencies(
        ctx: Annotated[ApiContext, Depends(api_call(COSTS["currencies"]))],
        term: str | None = None,
    ) -> dict[str, Any]:
        rows = [
            {
                "id": n,
                "code": code,
                "name": name,
                "decimal_points": decimals,
                "symbol": symbol,
                "active_flag": True,
                "is_custom_flag": False,
            }
            for n, (code, name, decimals, symbol) in enumerate(CURRENCIES, start=1)
            if not term or term.lower() in f"{code} {name}".lower()
        ]
        return ok(rows)

    return r


def invoicing_routes() -> APIRouter:
    """The Invoicing extension's provider registration."""
    r = APIRouter()

    @r.post("/invoice/user/provider")
    async def register_provider(
        request: Request,
        ctx: Annotated[ApiContext, Depends(api_call(COSTS["invoice_provider"]))],
    ) -> dict[str, Any]:
        """Register an Invoicing extension link (reference ext. §4); answers a redirectUrl.

        The real response and error shapes are UNCONFIRMED: the v1 envelopes are used.
        Re-registering a linkId replaces it (duplicate handling is UNCONFIRMED too).
        """
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError as exc:
            raise PipedriveError(400, "Request body must be valid JSON") from exc
        payload = body.get("data") if isinstance(body, dict) else None
        if not isinstance(payload, dict):
            raise PipedriveError(400, "data is required")
        for name in REGISTRATION_FIELDS:
            value = payload.get(name)
            if not isinstance(value, str) or not value.strip():
                raise PipedriveError(400, f"{name} is required")
        client_id = ctx.pd.sandbox.settings.pipedrive_client.client_id
        if payload["marketplaceClientId"] != client_id:
            raise PipedriveError(400, "marketplaceClientId does not match the app of this token")
        store = ctx.pd.sandbox.store
        existing = store.get("pipedrive:invoice_link", payload["linkId"])
        if existing is not None and existing["company_id"] != ctx.company_id:
            raise PipedriveError(400, "linkId is already registered")
        query = urlencode({"link_id": payload["linkId"]})
        redirect_url = (
            f"{ctx.pd.sandbox.settings.public_url.rstrip('/')}{PREFIX}/c/"
            f"{ctx.company['domain']}/invoicing/connected?{query}"
        )
        link = {
            "linkId": payload["linkId"],
            "orgId": payload["orgId"],
            "marketplaceClientId": payload["marketplaceClientId"],
            "company_id": ctx.company_id,
            "user_id": ctx.user["id"],
            "registered_at": ctx.pd.sandbox.clock.now().isoformat(),
            "redirectUrl": redirect_url,
        }
        store.put("pipedrive:invoice_link", payload["linkId"], link, scope=str(ctx.company_id))
        return ok({"redirectUrl": redirect_url})

    return r
