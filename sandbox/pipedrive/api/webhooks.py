"""Webhook subscriptions: ``POST /v1/webhooks``, ``GET /v1/webhooks``, ``DELETE /v1/webhooks/{id}``
(reference pipedrive.md §6, lifecycle-and-billing.md §3.1).

Every token of the stand-in is an OAuth app token, so every subscription made here is an *app*
webhook: it needs the ``admin`` scope and a ``name``, counts against the 40 per app user, is
listed and deleted only by the app, and disappears when its owner uninstalls.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from sandbox.pipedrive.api.common import ApiContext, api_call, ok, parse_id
from sandbox.pipedrive.errors import PipedriveError
from sandbox.pipedrive.limits import COSTS
from sandbox.pipedrive.state import Pipedrive

KIND = "pipedrive:webhook"
MAX_PER_USER = 40
EVENT_ACTIONS = ("create", "change", "delete", "*")
# PDN's list plus the objects the docs add (lifecycle-and-billing.md §3.1; deal_product and
# deal_installment since 2026-05-21).
EVENT_OBJECTS = (
    "activity",
    "deal",
    "lead",
    "note",
    "organization",
    "person",
    "pipeline",
    "product",
    "stage",
    "user",
    "deal_product",
    "deal_installment",
    "board",
    "phase",
    "project",
    "task",
    "*",
)
VERSIONS = ("1.0", "2.0")
SCOPE_MISMATCH = "Scope and URL mismatch"
Ctx = Annotated[ApiContext, Depends(api_call(COSTS["webhooks"]))]


def _invalid(field: str, message: str) -> PipedriveError:
    # The exact v1 validation body is UNCONFIRMED; the stand-in's envelope names the field.
    return PipedriveError(400, f"Validation failed: {field}: {message}")


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int):
        raise _invalid(name, "Parameter must be a string")
    return str(value)


def _check_url(url: str | None) -> str:
    if not url:
        raise _invalid("subscription_url", "Parameter is required")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid("subscription_url", "Parameter must be a valid URL")
    if parts.hostname.endswith("pipedrive.com"):
        raise _invalid("subscription_url", "Parameter must not point to Pipedrive")
    return url


def _has_admin_scope(ctx: ApiContext) -> bool:
    record = ctx.pd.grants.access(ctx.token) or {}
    grant = ctx.pd.grants.grant(record.get("grant_id", "")) or {}
    scopes = str(grant.get("scope", "")).replace(" ", ",").split(",")
    return "admin" in scopes


def owned(pd: Pipedrive, company_id: int, user_id: int | None = None) -> list[dict[str, Any]]:
    """The company's app webhooks, optionally only those one app user made."""
    hooks = pd.sandbox.store.all(KIND, str(company_id))
    return [h for h in hooks if user_id is None or int(h["owner_id"]) == user_id]


def remove_owned(pd: Pipedrive, company_id: int, user_id: int) -> int:
    """An uninstall removes the app webhooks its user made; returns how many."""
    hooks = owned(pd, company_id, user_id)
    for hook in hooks:
        pd.sandbox.store.delete(KIND, str(hook["id"]))
    return len(hooks)


def _validated(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    url = _check_url(_text(body, "subscription_url"))
    action = _text(body, "event_action")
    if action not in EVENT_ACTIONS:
        raise _invalid("event_action", f"Parameter must be one of {', '.join(EVENT_ACTIONS)}")
    obj = _text(body, "event_object")
    if obj not in EVENT_OBJECTS:
        raise _invalid("event_object", f"Parameter must be one of {', '.join(EVENT_OBJECTS)}")
    version = _text(body, "version") or "2.0"
    if version not in VERSIONS:
        raise _invalid("version", "Parameter must be one of 1.0, 2.0")
    name = (_text(body, "name") or "").strip()
    if not name:
        raise _invalid("name", "Parameter is required for app webhooks")
    user_id = body.get("user_id")
    if user_id is not None:
        member = ctx.data.user(parse_id(str(user_id), "user_id"))
        if member is None or int(member["company_id"]) != ctx.company_id:
            raise _invalid("user_id", "User not found")
        user_id = int(member["id"])
    return {
        "subscription_url": url,
        "event_action": action,
        "event_object": obj,
        "version": version,
        "name": name,
        "user_id": user_id or ctx.user["id"],
        "http_auth_user": _text(body, "http_auth_user"),
        "http_auth_password": _text(body, "http_auth_password"),
    }


def _create(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    if not _has_admin_scope(ctx):
        raise PipedriveError(403, SCOPE_MISMATCH)
    fields = _validated(ctx, body)
    if len(owned(ctx.pd, ctx.company_id, ctx.user["id"])) >= MAX_PER_USER:
        # The real status and wording are UNCONFIRMED; the limit itself is documented.
        raise PipedriveError(
            400, f"Webhooks limit reached: at most {MAX_PER_USER} webhooks per app user"
        )
    hook_id = 900 + ctx.pd.sandbox.store.next_seq(KIND)
    hook = {
        "id": hook_id,
        "company_id": ctx.company_id,
        "owner_id": ctx.user["id"],
        "admin_id": ctx.user["id"],
        **fields,
        "is_active": 1,
        "add_time": ctx.pd.sandbox.clock.now().strftime("%Y-%m-%d %H:%M:%S"),
        "remove_time": None,
        "type": "application",
        "client_id": ctx.pd.sandbox.settings.pipedrive_client.client_id,
        "last_delivery_time": None,
        "last_http_status": None,
        "remove_reason": None,
    }
    ctx.pd.sandbox.store.put(KIND, str(hook_id), hook, scope=str(ctx.company_id))
    return hook


def router() -> APIRouter:
    r = APIRouter()

    @r.post("/webhooks", status_code=201)
    async def create_webhook(request: Request, ctx: Ctx) -> JSONResponse:
        """Subscribe ``subscription_url`` to ``event_action``.``event_object`` (app webhook)."""
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError as exc:
            raise PipedriveError(400, "Request body must be valid JSON") from exc
        if not isinstance(body, dict):
            raise PipedriveError(400, "Request body must be a JSON object")
        return JSONResponse({"status": "ok", **ok(_create(ctx, body))}, 201)

    @r.get("/webhooks")
    async def list_webhooks(ctx: Ctx) -> dict[str, Any]:
        """The company's webhooks this app made (app webhooks are invisible to others)."""
        if not _has_admin_scope(ctx):
            raise PipedriveError(403, SCOPE_MISMATCH)
        return {"status": "ok", **ok(owned(ctx.pd, ctx.company_id))}

    @r.delete("/webhooks/{webhook_id}")
    async def delete_webhook(ctx: Ctx, webhook_id: str) -> dict[str, Any]:
        if not _has_admin_scope(ctx):
            raise PipedriveError(403, SCOPE_MISMATCH)
        number = parse_id(webhook_id, "id")
        hook = ctx.pd.sandbox.store.get(KIND, str(number))
        if hook is None or int(hook["company_id"]) != ctx.company_id:
            raise PipedriveError(404, "Webhook not found")
        ctx.pd.sandbox.store.delete(KIND, str(number))
        return {"status": "ok", "success": True, "data": {"id": number}}

    return r
