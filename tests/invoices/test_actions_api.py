"""Actions through the JSON API: a repeated email with the same Idempotency-Key is one email,
a status the invoice already has is answered as done, a forbidden one is 409, another
company's invoice is 404."""

from __future__ import annotations

import uuid
from typing import Any

from tests.invoices.helpers import body, create, draft


async def made(
    client: Any, headers: dict[str, str], provider: str = "quickbooks"
) -> dict[str, Any]:
    d = await draft(client, headers, 31, provider)
    response = await create(client, headers, 31, body(d))
    assert response.status_code == 201, response.text
    return dict(response.json())


def action(
    client: Any, headers: dict[str, str], row: str, name: str, key: str | None = None
) -> Any:
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(
        f"/api/v1/deals/31/invoices/{row}/actions/{name}", headers={**headers, **extra}
    )


async def outbox(sandbox: Any, invoice_id: str) -> list[Any]:
    sent = (await sandbox.http.get("/_sandbox/quickbooks/outbox")).json()
    return [m for m in sent if m["invoice_id"] == invoice_id]


async def test_an_email_repeated_with_its_key_is_sent_once(client, northwind, sandbox):
    invoice = await made(client, northwind.headers)
    key = str(uuid.uuid4())
    first = await action(client, northwind.headers, invoice["id"], "EMAIL", key)
    again = await action(client, northwind.headers, invoice["id"], "EMAIL", key)
    assert first.status_code == 200 and again.status_code == 200, again.text
    assert len(await outbox(sandbox, invoice["provider_invoice_id"])) == 1
    # A new request (a new key) is a new email.
    other = await action(client, northwind.headers, invoice["id"], "EMAIL", str(uuid.uuid4()))
    assert other.status_code == 200
    assert len(await outbox(sandbox, invoice["provider_invoice_id"])) == 2


async def test_a_reached_status_is_done_and_a_forbidden_one_is_409(client, northwind, sandbox):
    invoice = await made(client, northwind.headers)
    voided = await action(client, northwind.headers, invoice["id"], "VOIDED")
    assert voided.status_code == 200 and voided.json()["provider_status"] == "VOIDED"
    await sandbox.clear_requests()
    again = await action(client, northwind.headers, invoice["id"], "VOIDED")
    assert again.status_code == 200 and again.json()["provider_status"] == "VOIDED"
    # Provider writes only: the deal notes the changelog posts to Pipedrive are not the action.
    writes = [
        r
        for r in await sandbox.requests()
        if r["method"] == "POST" and not r["path"].startswith("/pipedrive/")
    ]
    assert writes == []
    refused = await action(client, northwind.headers, invoice["id"], "EMAIL")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "illegal_action"
    unknown = await action(client, northwind.headers, invoice["id"], "FLY")
    assert unknown.status_code == 422


async def test_another_companys_invoice_is_404(client, northwind, contoso):
    invoice = await made(client, northwind.headers)
    theirs = await action(client, contoso.headers, invoice["id"], "VOIDED")
    assert theirs.status_code == 404
    missing = await action(client, northwind.headers, str(uuid.uuid4()), "VOIDED")
    assert missing.status_code == 404
