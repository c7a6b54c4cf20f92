"""Issue 14 through HTTP: numbers read in the user's locale, what the provider would change
(tax, currency) said before sending, provider wording, invoice numbers, due dates."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from app.tenants.clock import today_in
from app.tenants.models import CrmUser
from tests.invoices.helpers import body, create, draft
from tests.invoices.test_panel_pages import PANEL, form_values


async def dialog_values(client: Any, company: Any, deal_id: int, provider: str) -> dict[str, str]:
    dialog = await client.get(
        f"{PANEL}/{deal_id}/dialog", params={"provider": provider}, headers=company.headers
    )
    assert dialog.status_code == 200, dialog.text
    return form_values(dialog.text)


async def review(
    client: Any, company: Any, deal_id: int, provider: str, values: dict[str, str]
) -> Any:
    response = await client.post(
        f"{PANEL}/{deal_id}/review",
        params={"provider": provider},
        data=values,
        headers=company.headers,
    )
    assert response.status_code == 200, response.text
    return response


def total_of(html: str) -> str:
    found = re.search(r'id="total-total">([^<]+)<', html)
    assert found, html
    return found.group(1)


async def test_a_decimal_comma_is_refused_where_commas_group_thousands(
    client: Any, northwind: Any
) -> None:
    """Nora writes numbers as en_NZ: "1,5" could be 15 or 1.5, so it is refused in words
    naming the field, never read as 15; "1.5" and "1,500" are not ambiguous."""
    values = await dialog_values(client, northwind, 31, "xero")
    first = next(k for k in values if k.endswith("-quantity"))
    price = values[first.replace("quantity", "unit_price")]
    answer = await review(client, northwind, 31, "xero", {**values, first: "1,5"})
    assert "quantity “1,5” could mean 15 or 1.5" in answer.text
    assert 'id="total-total"' not in answer.text or "15,0" not in total_of(answer.text)
    made = await client.post(
        f"{PANEL}/31/invoices",
        params={"provider": "xero"},
        data={**values, first: "1,5"},
        headers=northwind.headers,
    )
    assert made.status_code == 422 and "could mean 15 or 1.5" in made.text
    half = await review(client, northwind, 31, "xero", {**values, first: "1.5"})
    thousand = await review(client, northwind, 31, "xero", {**values, first: "1,500"})
    assert total_of(half.text) != total_of(thousand.text)
    assert "could mean" not in half.text + thousand.text
    assert Decimal(price) > 0


async def test_a_german_user_types_a_decimal_comma(
    client: Any, northwind: Any, sessionmaker: Any
) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(CrmUser).where(CrmUser.id == northwind.user.id).values(locale="de_DE")
        )
        await session.commit()
    values = await dialog_values(client, northwind, 31, "xero")
    first = next(k for k in values if k.endswith("-quantity"))
    # Prices are shown with the user's decimal mark and read back the same way.
    unchanged = await review(client, northwind, 31, "xero", values)
    half = await review(client, northwind, 31, "xero", {**values, first: "1,5"})
    ten = await review(client, northwind, 31, "xero", {**values, first: "15"})
    assert "could mean" not in unchanged.text + half.text
    assert total_of(half.text) != total_of(ten.text)
    dotted = await review(client, northwind, 31, "xero", {**values, first: "1.5"})
    assert "could mean 15 or 1,5" in dotted.text


async def test_quickbooks_custom_numbers_are_asked_for_sent_and_kept_unique(
    client: Any, northwind: Any, sandbox: Any
) -> None:
    """With custom transaction numbers on, the dialog asks for the number, QuickBooks gets it
    as DocNumber, and a number already used is refused in plain words."""
    await sandbox.http.post("/_sandbox/quickbooks/preferences", json={"CustomTxnNumbers": True})
    dialog = await client.get(
        f"{PANEL}/31/dialog", params={"provider": "quickbooks"}, headers=northwind.headers
    )
    assert 'name="invoice_number"' in dialog.text
    # QuickBooks has no drafts: the dialog does not promise one.
    assert "Create invoice in QuickBooks" in dialog.text
    assert "as a draft" not in dialog.text and "Create draft" not in dialog.text
    values = {**form_values(dialog.text), "accept_tax_difference": "on"}
    missing = await client.post(
        f"{PANEL}/31/invoices",
        params={"provider": "quickbooks"},
        data=values,
        headers=northwind.headers,
    )
    assert missing.status_code == 422
    assert "give this invoice a number" in missing.text
    made = await client.post(
        f"{PANEL}/31/invoices",
        params={"provider": "quickbooks"},
        data={**values, "invoice_number": "PD-777"},
        headers=northwind.headers,
    )
    assert made.status_code == 200, made.text
    assert "Invoice PD-777 created" in made.text
    assert "status Open," in made.text and "as a open" not in made.text
    again = await dialog_values(client, northwind, 31, "quickbooks")
    duplicate = await client.post(
        f"{PANEL}/31/invoices",
        params={"provider": "quickbooks"},
        data={**again, "accept_tax_difference": "on", "invoice_number": "PD-777"},
        headers=northwind.headers,
    )
    assert duplicate.status_code == 422, duplicate.text
    assert "The invoice number PD-777 is already used in QuickBooks" in duplicate.text
    assert "Duplicate Document Number" not in duplicate.text


async def test_quickbooks_currency_mismatch_is_caught_before_sending(
    client: Any, northwind: Any, sandbox: Any
) -> None:
    """Deal 31's customer bills in NZD at QuickBooks: a USD invoice is refused by our checks
    in the user's words, naming the currency, and nothing reaches QuickBooks."""
    d = await draft(client, northwind.headers, 31, "quickbooks")
    assert d.customer.contact and d.customer.contact.currency
    other = "USD" if d.customer.contact.currency != "USD" else "NZD"
    await sandbox.clear_requests()
    # Through the API without the dialog's contact_currency (as any client may send it).
    payload = body(d, currency=other, accept_tax_difference=True)
    payload["customer"]["contact_currency"] = None
    refused = await create(client, northwind.headers, 31, payload)
    assert refused.status_code == 422, refused.text
    problem = refused.json()["error"]
    assert problem["field"] == "currency", problem
    assert problem["code"] != "provider_validation"
    assert f"bills in {d.customer.contact.currency}" in problem["message"]
    # Every failing check in one answer: a line discount QuickBooks cannot take does not hide
    # the currency behind it.
    payload["lines"][0]["discount_rate"] = "10"
    both = await create(client, northwind.headers, 31, payload)
    codes = {c["code"] for c in both.json()["error"]["checks"]}
    assert {"line_discount", "currency_mismatch"} <= codes, codes
    posts = [r for r in await sandbox.requests() if r.get("method") == "POST"]
    assert not [r for r in posts if "/invoice" in r.get("path", "")]
    # The dialog's own form: the same refusal beside the currency.
    values = await dialog_values(client, northwind, 31, "quickbooks")
    made = await client.post(
        f"{PANEL}/31/invoices",
        params={"provider": "quickbooks"},
        data={**values, "currency": other, "accept_tax_difference": "on"},
        headers=northwind.headers,
    )
    assert made.status_code == 422
    assert re.search(
        r'id="slot-currency" hx-swap-oob="innerHTML"><p class="msg msg-error">[^<]*bills in',
        made.text,
    )


async def test_quickbooks_tax_that_differs_from_the_deal_is_said_and_confirmed(
    client: Any, northwind: Any, sandbox: Any
) -> None:
    """Deal 31 taxes at 15 %; QuickBooks' TAX code would work out 8.25 %. The dialog names the
    line and both totals before sending; nothing is created until the user confirms."""
    d = await draft(client, northwind.headers, 31, "quickbooks")
    (differs,) = [c for c in d.checks if c.code == "tax_differs"]
    assert differs.severity == "confirm"
    assert "instead of the deal's 15 %" in differs.message
    assert "NZ$6,957.50" in differs.message and "NZ$6,549.13" in differs.message
    assert "Line 1" in differs.message
    await sandbox.clear_requests()
    refused = await create(client, northwind.headers, 31, body(d, accept_tax_difference=False))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["checks"][0]["code"] == "tax_differs"
    assert not [
        r
        for r in await sandbox.requests()
        if "/invoice" in r.get("path", "") and r.get("method") == "POST"
    ]
    # The dialog: the message beside the line, and a box to confirm it.
    values = await dialog_values(client, northwind, 31, "quickbooks")
    dialog = await client.get(
        f"{PANEL}/31/dialog", params={"provider": "quickbooks"}, headers=northwind.headers
    )
    assert 'name="accept_tax_difference"' in dialog.text
    assert "NZ$6,549.13 instead of the deal&#39;s NZ$6,957.50" in dialog.text
    made = await client.post(
        f"{PANEL}/31/invoices",
        params={"provider": "quickbooks"},
        data=values,
        headers=northwind.headers,
    )
    assert made.status_code == 422 and "confirm the difference" in made.text
    confirmed = await client.post(
        f"{PANEL}/31/invoices",
        params={"provider": "quickbooks"},
        data={**values, "accept_tax_difference": "on"},
        headers=northwind.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert "NZ$6,549.13" in confirmed.text
    # Xero has the deal's 15 %: nothing to confirm there.
    xero = await draft(client, northwind.headers, 31, "xero")
    assert not [c for c in xero.checks if c.code == "tax_differs"]


async def test_one_company_timezone_for_both_providers_and_the_preview(
    client: Any, northwind: Any
) -> None:
    """Northwind is in Pacific/Auckland (Pipedrive says so); its QuickBooks company is in
    America/Los_Angeles. Its invoices are dated in Auckland whichever provider, the dialog says
    so, and the preferences preview is for the same day."""
    auckland = today_in("Pacific/Auckland")
    xero = await draft(client, northwind.headers, 31, "xero")
    qbo = await draft(client, northwind.headers, 31, "quickbooks")
    assert xero.details.issue_date == qbo.details.issue_date == auckland
    assert xero.details.due_date == qbo.details.due_date
    assert qbo.details.timezone == "Pacific/Auckland"
    dialog = await client.get(
        f"{PANEL}/31/dialog", params={"provider": "quickbooks"}, headers=northwind.headers
    )
    assert "Dates are in Pacific/Auckland time" in dialog.text
    preview = await client.get("/api/v1/preferences/quickbooks/preview", headers=northwind.headers)
    assert preview.status_code == 200, preview.text
    assert preview.json()["invoice_date"] == auckland.isoformat()
