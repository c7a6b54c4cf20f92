"""What the Pipedrive stand-in sends out: v2 webhooks for deal changes (reference §6) and the
uninstall callback (reference §2)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx2

from sandbox.pipedrive.state import Pipedrive
from sandbox.webhooks import Delivery


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _timestamp_ms(pd: Pipedrive) -> str:
    now = pd.sandbox.clock.now()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def send_deal_event(
    pd: Pipedrive,
    company: dict[str, Any],
    action: str,
    deal_id: int,
    data: dict[str, Any] | None,
    previous: dict[str, Any] | None,
    user_id: int,
) -> Delivery:
    """Post ``{meta, data, previous}`` (v2) to the configured subscription URL.

    ``data`` is null on delete and ``previous`` null on create. Retries resend the same
    bytes through the shared sender, so ``attempt`` stays 1 (the real one counts 1-4).
    """
    settings = pd.sandbox.settings
    users = pd.data.users(company["id"])
    meta = {
        "action": action,
        "entity": "deal",
        "company_id": str(company["id"]),
        "correlation_id": str(uuid.uuid4()),
        "entity_id": str(deal_id),
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
    body = json.dumps({"meta": meta, "data": data, "previous": previous}).encode()
    headers = {"content-type": "application/json"}
    if settings.pipedrive_webhook_user or settings.pipedrive_webhook_password:
        headers["authorization"] = _basic(
            settings.pipedrive_webhook_user, settings.pipedrive_webhook_password
        )
    return pd.sandbox.webhooks.send("pipedrive", settings.pipedrive_webhook_url, body, headers)


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
