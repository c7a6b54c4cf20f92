"""Tax rate, revenue account and template are chosen from the connected provider's own lists:
the page offers them, the save (page and API) refuses anything else in plain words, and
without a connection there is nothing to type in. Against the sandbox Xero and QuickBooks."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.tenants.handoff import issue_handoff
from tests.connections.conftest import flow  # noqa: F401 - fixture
from tests.invoices.conftest import contoso, northwind  # noqa: F401 - fixtures
from tests.preferences.test_page import form

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def fresh_adapters(app: Any) -> None:
    # Adapters built while another test swapped in a scripted Pipedrive hold its closed HTTP
    # client; these tests talk to the sandbox providers, as tests/invoices/conftest.py does.
    app.state.providers = None


def defaults(**values: str | None) -> dict[str, Any]:
    return {"defaults": {"tax_mode": "exclusive", **values}}


async def saved_defaults(client: Any, headers: dict[str, str], provider: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/preferences/{provider}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["defaults"])


async def test_xero_refuses_codes_it_does_not_list_and_saves_real_ones(client, northwind):  # noqa: F811
    put = "/api/v1/preferences/xero"
    for field, value, words in (
        ("tax_rate", "BOGUS", "Tax rate “BOGUS” is not in Xero"),
        ("revenue_account", "999", "Revenue account “999” is not in Xero"),
        ("template", "Glossy", "Template “Glossy” is not in Xero"),
    ):
        refused = await client.put(put, json=defaults(**{field: value}), headers=northwind.headers)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["field"] == f"defaults.{field}"
        assert words in error["message"]
    assert (await saved_defaults(client, northwind.headers, "xero"))["tax_rate"] is None

    # Real ones are saved, spelled as Xero lists them (a theme or rate may be given by name).
    ok = await client.put(
        put,
        json=defaults(
            tax_rate="15% GST on Income", revenue_account="200", template="special projects"
        ),
        headers=northwind.headers,
    )
    assert ok.status_code == 200, ok.text
    stored = await saved_defaults(client, northwind.headers, "xero")
    assert (stored["tax_rate"], stored["revenue_account"], stored["template"]) == (
        "OUTPUT2",
        "200",
        "Special Projects",
    )
    # An expense-only rate or account is not a sales choice.
    expense = await client.put(put, json=defaults(tax_rate="INPUT2"), headers=northwind.headers)
    assert expense.status_code == 422 and "INPUT2" in expense.text


async def test_quickbooks_checks_its_own_lists_and_has_no_templates(client, northwind):  # noqa: F811
    put = "/api/v1/preferences/quickbooks"
    bogus = await client.put(put, json=defaults(tax_rate="BOGUS"), headers=northwind.headers)
    assert bogus.status_code == 422, bogus.text
    assert bogus.json()["error"]["field"] == "defaults.tax_rate"
    assert "not in QuickBooks" in bogus.json()["error"]["message"]
    theme = await client.put(put, json=defaults(template="Standard"), headers=northwind.headers)
    assert theme.status_code == 422
    assert theme.json()["error"]["message"] == (
        "QuickBooks has no invoice templates; leave Template empty."
    )
    account = await client.put(put, json=defaults(revenue_account="999"), headers=northwind.headers)
    assert account.status_code == 422 and "Revenue account" in account.text

    ok = await client.put(
        put,
        json=defaults(tax_rate="TAX", revenue_account="Services"),
        headers=northwind.headers,
    )
    assert ok.status_code == 200, ok.text
    stored = await saved_defaults(client, northwind.headers, "quickbooks")
    assert stored["tax_rate"] == "TAX"
    # Stored as QuickBooks' account id, not the name typed.
    assert stored["revenue_account"] and stored["revenue_account"].isdigit()


async def test_the_page_offers_the_lists_and_hides_what_the_provider_lacks(client, northwind):  # noqa: F811
    xero = await client.get("/preferences/xero/form", headers={**northwind.headers, **HTMX})
    assert xero.status_code == 200
    assert 'list="f-tax-rate-list"' in xero.text
    assert re.search(r'<option value="OUTPUT2" label="15% GST on Income \(15 %\)">', xero.text)
    assert '<option value="200"' in xero.text and '<option value="INPUT2"' not in xero.text
    assert '<option value="Special Projects"' in xero.text
    quickbooks = await client.get(
        "/preferences/quickbooks/form", headers={**northwind.headers, **HTMX}
    )
    assert 'list="f-tax-rate-list"' in quickbooks.text
    assert 'name="template"' not in quickbooks.text


async def test_the_page_refuses_bogus_keeping_what_was_typed(client, northwind):  # noqa: F811
    refused = await client.post(
        "/preferences/xero",
        data=form(tax_rate="BOGUS", revenue_account="999", sample_deal=""),
        headers={**northwind.headers, **HTMX},
    )
    assert refused.status_code == 422
    assert "Tax rate “BOGUS” is not in Xero: choose one from the list." in refused.text
    assert "Revenue account “999” is not in Xero" in refused.text
    assert 'name="tax_rate" value="BOGUS"' in refused.text
    assert 'name="revenue_account" value="999"' in refused.text
    assert (await saved_defaults(client, northwind.headers, "xero"))["tax_rate"] is None


async def test_without_a_connection_there_is_no_free_text(client, contoso):  # noqa: F811
    page = await client.get("/preferences/xero/form", headers={**contoso.headers, **HTMX})
    assert "Connect Xero to choose its tax rate" in page.text
    readonly = r'name="tax_rate" value="" maxlength="64" autocomplete="off" readonly'
    assert re.search(readonly, page.text)
    refused = await client.put(
        "/api/v1/preferences/xero", json=defaults(tax_rate="OUTPUT2"), headers=contoso.headers
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["message"].startswith(
        "Tax rate is chosen from Xero's own list: connect Xero first"
    )
    # Saving the rest still works.
    ok = await client.put(
        "/api/v1/preferences/xero", json=defaults(tax_rate=None), headers=contoso.headers
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.browser
async def test_in_chromium_the_tax_rate_is_picked_from_xeros_list(
    app_server,
    browser,
    client,
    northwind,  # noqa: F811
    settings,
):
    code = issue_handoff(settings, northwind.user)
    context = await browser.new_context(viewport={"width": 360, "height": 900})
    page = await context.new_page()
    try:
        await page.goto(f"{app_server}/preferences?provider=xero&handoff={code}")
        options = await page.evaluate(
            "[...document.querySelectorAll('#f-tax-rate-list option')].map(o => o.value)"
        )
        assert "OUTPUT2" in options and "BOGUS" not in options
        assert await page.get_attribute("#f-tax-rate", "list") == "f-tax-rate-list"

        await page.fill("#f-tax-rate", "BOGUS")
        await page.click("button[type=submit]")
        await page.locator("#e-tax_rate").wait_for(timeout=10000)
        assert "is not in Xero: choose one from the list" in await page.inner_text("#e-tax_rate")
        assert await page.input_value("#f-tax-rate") == "BOGUS"  # kept to correct
        assert await page.get_attribute("#f-tax-rate", "aria-invalid") == "true"

        await page.fill("#f-tax-rate", "OUTPUT2")
        await page.click("button[type=submit]")
        await page.locator("text=Saved.").wait_for(timeout=10000)
        assert await page.input_value("#f-tax-rate") == "OUTPUT2"
        assert (await saved_defaults(client, northwind.headers, "xero"))["tax_rate"] == "OUTPUT2"
    finally:
        await context.close()
