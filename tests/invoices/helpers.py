"""Shared steps of the invoices tests."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from app.invoices.flows import reviewed
from app.invoices.schemas import DraftOut


async def draft(client: Any, headers: dict[str, str], deal_id: int, provider: str) -> DraftOut:
    response = await client.get(
        f"/api/v1/deals/{deal_id}/invoice-draft", params={"provider": provider}, headers=headers
    )
    assert response.status_code == 200, response.text
    return DraftOut.model_validate(response.json())


def body(d: DraftOut, **over: Any) -> dict[str, Any]:
    """The draft sent back as a user does after reviewing it. Where the draft shows that the
    provider's tax differs from the deal's (``tax_differs``: the seeded QuickBooks company is
    in the US, TAX at 8.25 %), the user has seen both totals and confirms them, unless the test
    says ``accept_tax_difference=False``."""
    over.setdefault("accept_tax_difference", any(c.code == "tax_differs" for c in d.checks))
    return reviewed(d, **over).model_dump(mode="json")


async def create(
    client: Any,
    headers: dict[str, str],
    deal_id: int,
    payload: dict[str, Any],
    key: str | None = None,
) -> Any:
    return await client.post(
        f"/api/v1/deals/{deal_id}/invoices",
        json=payload,
        headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())},
    )


async def until(check: Any, timeout: float = 20.0) -> Any:
    """``check()``'s first truthy value, polled every 0.1 s (AssertionError after ``timeout``)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


# A line Xero refuses: its item code does not exist there.
UNKNOWN_ITEM_LINE: dict[str, Any] = {
    "description": "Advisory",
    "quantity": "1",
    "unit_price": "100",
    "tax_code": "OUTPUT2",
    "item_code": "NO-SUCH-ITEM",
    "kind": "manual",
}
