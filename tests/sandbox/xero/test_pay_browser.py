"""A person pays a seeded invoice from the Xero stand-in's invoice page in Chromium: part, then
the rest; each payment goes out as a signed INVOICE UPDATE to the app's webhook URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from app.config import Settings
from sandbox.xero.state import stable_id
from tests.sandbox.xero.conftest import NZ
from tests.support.sandbox import SandboxControl

pytestmark = pytest.mark.browser


async def test_pay_in_part_then_in_full_from_the_invoice_page(
    sandbox: SandboxControl, settings: Settings, page: Any
) -> None:
    await page.goto(f"{sandbox.url}/xero/go/organisationlogin/default.aspx?shortcode=!NwT01")
    await page.click("a:has-text('INV-0002')")  # the seeded invoice awaiting payment
    await page.wait_for_load_state()
    assert await page.input_value("#pay-amount") == "2875.00"

    await page.fill("#pay-amount", "abc")
    await page.click("button:has-text('Record part payment')")
    await page.wait_for_load_state()
    assert "Amount: 'abc' is not a number." in await page.inner_text("[role=alert]")

    await page.fill("#pay-amount", "875")
    await page.click("button:has-text('Record part payment')")
    await page.wait_for_load_state()
    body = await page.inner_text("main")
    assert "Awaiting payment" in body and "2000.00" in body
    assert await page.input_value("#pay-amount") == "2000.00"

    await page.click("button:has-text('Pay in full')")
    await page.wait_for_load_state()
    assert await page.inner_text(".status") == "Paid"
    assert await page.locator("#pay-amount").count() == 0
    # The refused amount's 422 is logged by the browser; nothing else may be.
    assert [e for e in page.js_errors if "status of 422" not in e] == []

    await sandbox.http.post("/_sandbox/xero/webhooks/flush")
    invoice_id = stable_id(f"{NZ}:invoice:2")
    events = []
    for delivery in await sandbox.webhooks("xero"):
        raw = delivery["body"].encode()
        key = settings.xero.webhook_key.encode()
        signature = base64.b64encode(hmac.new(key, raw, hashlib.sha256).digest()).decode()
        assert delivery["headers"]["x-xero-signature"] == signature
        assert delivery["url"] == f"{settings.public_url}/webhooks/xero"
        events += [(e["eventType"], e["resourceId"]) for e in json.loads(raw)["events"]]
    assert events == [("UPDATE", invoice_id), ("UPDATE", invoice_id)]
