"""Issue 14 as Pipedrive's Invoicing extension calls us: line discounts on QuickBooks folded as
the deal panel folds them, the invoice number the user typed, and due dates from the terms."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tests.extension.helpers import action_ids, invoice
from tests.extension.test_invoices import qbo_body, stored, today, xero_body


async def test_a_quickbooks_line_discount_is_folded_like_the_panel_does(
    pd: Any, links: Any, northwind: Any, app: Any
) -> None:
    link = links["quickbooks"]
    data = await qbo_body(pd, link)
    lines = [
        # 10 x 150 less 10 %: 10 x 135 exactly.
        {**data["lineItems"][0], "quantity": 10, "unitPrice": 150, "discountRate": 10},
        # 7 x 1.99 less 15 % is 11.84, which no unit price times 7 gives: 1 x 11.84.
        {**data["lineItems"][0], "quantity": 7, "unitPrice": 1.99, "discountRate": 15},
    ]
    created = invoice(await pd("postInvoice", link, json={**data, "lineItems": lines}))
    found = await stored(app, northwind.user.company_id, "quickbooks", [created.id])
    first, second = found[created.id].lines[:2]
    assert (first.quantity, first.unit_price) == (Decimal("10"), Decimal("135"))
    assert (second.quantity, second.unit_price) == (Decimal("1"), Decimal("11.84"))
    assert "(7 x 1.99, 15 % discount)" in (second.description or "")


async def test_the_quickbooks_number_the_user_typed_is_sent(
    pd: Any, links: Any, northwind: Any, app: Any, sandbox: Any
) -> None:
    await sandbox.http.post("/_sandbox/quickbooks/preferences", json={"CustomTxnNumbers": True})
    link = links["quickbooks"]
    data = await qbo_body(pd, link)
    created = invoice(await pd("postInvoice", link, json={**data, "invoiceNumber": "PD-777"}))
    assert created.invoiceNumber == "PD-777"
    found = await stored(app, northwind.user.company_id, "quickbooks", [created.id])
    assert found[created.id].number == "PD-777"
    again = await pd(
        "postInvoice",
        link,
        json={
            **data,
            "invoiceNumber": "PD-777",
            "issueDate": today()[:10],
            "dueDate": (date.today() + timedelta(days=3)).isoformat(),
        },
    )
    assert again.status_code == 422, again.text
    assert "The invoice number PD-777 is already used in QuickBooks" in again.json()["error"]
    missing = await pd(
        "postInvoice",
        link,
        json={
            **data,
            "invoiceNumber": None,
            "dueDate": (date.today() + timedelta(days=5)).isoformat(),
        },
    )
    assert missing.status_code == 422 and "give this invoice a number" in missing.json()["error"]


async def test_a_xero_invoice_without_a_due_date_gets_the_terms_and_can_be_approved(
    pd: Any, links: Any
) -> None:
    link = links["xero"]
    data = await xero_body(pd, link)
    created = invoice(await pd("postInvoice", link, json={**data, "dueDate": None}))
    # The company's terms (the suggested 14 days after the invoice date unless saved).
    assert created.dueDate and created.dueDate > data["issueDate"][:10]
    assert "AUTHORISED" in action_ids(created)
    approved = invoice(
        await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "AUTHORISED"})
    )
    assert approved.statusCode == "AUTHORISED"
