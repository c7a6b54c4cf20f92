"""What the Pipedrive stand-in sends out: v2 webhooks for deal, deal product and product
changes to the registered subscriptions (reference §6), and the uninstall callback (§2)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx2

from sandbox.pipedrive.api.webhooks import owned
from sandbox.pipedrive.state import Pipedrive
from sandbox.webhooks import Delivery


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _timestamp_ms(pd: Pipedrive) -> str:
    now = pd.sandbox.clock.now()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _matches(hook: dict[str, Any], entity: str, action: str) -> bool:
    return (
        bool(hook.get("is_active"))
        and hook.get("version") == "2.0"
        and hook["event_object"] in (entity, "*")
        and hook["event_action"] in (action, "*")
    )


def _meta(
    pd: Pipedrive, company: dict[str, Any], entity: str, action: str, entity_id: int, user_id: int
) -> dict[str, Any]:
    users = pd.data.users(company["id"])
    return {
        "action": action,
        "entity": entity,
        "company_id": str(company["id"]),
        "correlation_id": str(uuid.uuid4()),
        "entity_id": str(entity_id),
        "id": str(uuid.uuid4()),
        "is_bulk_edit": False,
        "timestamp": _timestamp_ms(pd),
        "type": "general",
        "user_id": str(user_id),
        "version": "2.0",
        "webhook_id": f"{company['id']}01",
        "webhook_owner_id": str(next((u["id"] for u in users if u["is_admin"]), user_id)),
        "change_source": "api",
        "attempt": 1,
        "host": f"{company['domain']}.pipedrive.com",
        "permitted_user_ids": [str(u["id"]) for u in users],
    }


def send_event(
    pd: Pipedrive,
    company: dict[str, Any],
    entity: str,
    action: str,
    entity_id: int,
    data: dict[str, Any] | None,
    previous: dict[str, Any] | None,
    user_id: int,
) -> list[Delivery]:
    """Post ``{meta, data, previous}`` (v2) to every matching subscription of the company,
    each with its own Basic credentials and ``meta.webhook_id``.

    ``data`` is null on delete and ``previous`` null on create. A company with no subscription
    at all gets its deal events at the configured URL instead, as if subscribed to deals (the
    stand-in's own tests, and ``invoicing sandbox`` before the app registered its webhooks).
    Version 1.0 subscriptions are stored but not delivered: the stand-in speaks v2 only.
    Retries resend the same bytes through the shared sender, so ``attempt`` stays 1 (the real
    one counts 1-4).
    """
    meta = _meta(pd, company, entity, action, entity_id, user_id)
    hooks = owned(pd, company["id"])
    if not hooks:
        if entity != "deal":
            return []
        settings = pd.sandbox.settings
        target = {
            "subscription_url": settings.pipedrive_webhook_url,
            "http_auth_user": settings.pipedrive_webhook_user,
            "http_auth_password": settings.pipedrive_webhook_password,
            "id": None,
        }
        return [_post(pd, target, meta, data, previous)]
    return [_post(pd, h, meta, data, previous) for h in hooks if _matches(h, entity, action)]


def _post(
    pd: Pipedrive,
    hook: dict[str, Any],
    meta: dict[str, Any],
    data: dict[str, Any] | None,
    previous: dict[str, Any] | None,
) -> Delivery:
    if hook["id"] is not None:
        meta = {**meta, "webhook_id": str(hook["id"]), "webhook_owner_id": str(hook["owner_id"])}
        meta["type"] = hook.get("type", "general")
    body = json.dumps({"meta": meta, "data": data, "previous": previous}).encode()
    headers = {"content-type": "application/json"}
    user, password = hook.get("http_auth_user") or "", hook.get("http_auth_password") or ""
    if user or password:
        headers["authorization"] = _basic(user, password)
    return pd.sandbox.webhooks.send("pipedrive", hook["subscription_url"], body, headers)


def send_line_events(
    pd: Pipedrive,
    company: dict[str, Any],
    removed: list[dict[str, Any]],
    added: list[dict[str, Any]],
    user_id: int,
) -> list[Delivery]:
    """Replacing a deal's products deletes the old attachments and creates new ones."""
    sent: list[Delivery] = []
    for line in removed:
        sent += send_event(pd, company, "deal_product", "delete", line["id"], None, line, user_id)
    for line in added:
        sent += send_event(pd, company, "deal_product", "create", line["id"], line, None, user_id)
    return sent


def callback_url(pd: Pipedrive) -> str:
    """The app's one Callback URL: it is the redirect_uri and receives the uninstall DELETE."""
    client = pd.sandbox.settings.pipedrive_client
    if client.redirect_uris:
        return client.redirect_uris[0]
    return f"{pd.sandbox.settings.app_url.rstrip('/')}/pipedrive/callback"


async def send_uninstall(pd: Pipedrive, company_id: int, user_id: int) -> dict[str, Any]:
    """``DELETE <Callback URL>`` with Basic client_id:client_secret and
    ``{client_id, company_id, user_id, timestamp}``; reports the app's answer."""
    client = pd.sandbox.settings.pipedrive_client
    payload = {
        "client_id": client.client_id,
        "company_id": company_id,
        "user_id": user_id,
        "timestamp": _timestamp_ms(pd),
    }
    url = callback_url(pd)
    outcome: dict[str, Any] = {"url": url, "body": payload, "status": None, "error": None}
    try:
        response = await pd.sandbox.http.request(
            "DELETE",
            url,
            content=json.dumps(payload).encode(),
            headers={
                "content-type": "application/json",
                "authorization": _basic(client.client_id, client.client_secret),
            },
            timeout=10.0,
        )
        outcome["status"] = response.status_code
    except httpx2.HTTPError as exc:
        # Pipedrive ignores the answer (and a failure) of this background request.
        outcome["error"] = type(exc).__name__
    pd.uninstalls.append(outcome)
    return outcome
