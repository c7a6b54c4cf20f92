"""Crediting from the deal panel: the form lists the invoice's lines and what is left; an
amount typed in the user's locale credits it once per rendering of the form (its
Idempotency-Key); a bad amount is a message in place; another company's invoice is 404."""

from __future__ import annotations

import re
from decimal import Decimal as D
from typing import Any

from tests.invoices.test_credits import made

PANEL = "/pipedrive/panel"


async def test_panel_credit_round_trip(client: Any, northwind: Any, contoso: Any) -> None:
    invoice = await made(client, northwind.headers, "quickbooks")
    listing = await client.get(f"{PANEL}/31/invoices", headers=northwind.headers)
    assert 'data-action="CREDIT"' in listing.text
    base = f"{PANEL}/31/invoices/{invoice['id']}/credit"
    form = await client.get(base, headers=northwind.headers)
    assert form.status_code == 200 and 'name="line_ids"' in form.text
    key = re.search(r'"Idempotency-Key": "([^"]+)"', form.text)
    assert key is not None
    headers = {**northwind.headers, "Idempotency-Key": key.group(1)}
    bad = await client.post(base, data={"mode": "amount", "amount": "ten"}, headers=headers)
    assert "The amount must be a number." in bad.text
    data = {"mode": "amount", "amount": "1,000.50", "reason": "Goodwill"}
    done = await client.post(base, data=data, headers=headers)
    assert done.status_code == 200 and "Credit note" in done.text, done.text
    again = await client.post(base, data=data, headers=headers)
    assert again.status_code == 200 and "Credit note" in again.text
    credits = await client.get(
        f"/api/v1/deals/31/invoices/{invoice['id']}/credits", headers=northwind.headers
    )
    assert [D(c["total"]) for c in credits.json()] == [D("1000.50")]
    assert "Credited" in done.text
    theirs = await client.get(base, headers=contoso.headers)
    assert theirs.status_code == 404
