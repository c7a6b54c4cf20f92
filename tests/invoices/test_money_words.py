"""Issue 14 through HTTP: numbers read in the user's locale, what the provider would change
(tax, currency) said before sending, provider wording, invoice numbers, due dates."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from app.tenants.models import CrmUser
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
