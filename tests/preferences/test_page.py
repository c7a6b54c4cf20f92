"""The preferences page and its htmx fragments."""

from __future__ import annotations

import re

from tests.crm.pipedrive.fake import COMPANIES
from tests.preferences.helpers import install_via_oauth
from tests.support.sessions import session_of

VAT_A = COMPANIES[7001]["vat"]
HTMX = {"HX-Request": "true"}


def form(**over):
    data = {
        "to": "organization:name",
        "address": "organization:address",
        "email": "person:email",
        "tax_id": f"organization:{VAT_A}",
        "due_rule": "days_after_invoice",
        "due_days": "7",
        "tax_mode": "exclusive",
        "tax_rate": "",
        "revenue_account": "",
        "template": "",
        "reference_template": "{deal_title}",
        "sample_deal": "31",
    }
    data.update(over)
    return data


async def test_page_lists_fields_by_entity_and_previews(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    page = await client.get("/preferences", headers=admin, params={"theme": "dark"})
    assert page.status_code == 200
    html = page.text
    assert 'data-theme="dark"' in html
    assert '<optgroup label="Organization">' in html and '<optgroup label="Deal">' in html
    assert "Organization – VAT number (custom)" in html  # noqa: RUF001
    # Suggested defaults are preselected.
    assert re.search(r'<option value="organization:name" selected>', html)
    assert re.search(r'<option value="person:email" selected>', html)
    assert "An invoice issued today" in html and "would be due on" in html
    assert "Acme Ltd" in html and "alice@acme.test" in html
    assert 'hx-post="/preferences/xero"' in html
    assert "/static/preferences.css" in html


async def test_save_from_the_page(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    response = await client.post("/preferences/xero", data=form(), headers={**admin, **HTMX})
    assert response.status_code == 200, response.text
    assert "Saved. Invoices fall due 7 days after the invoice date." in response.text
    assert "<html" not in response.text  # a fragment, not a full page
    saved = (await client.get("/api/v1/preferences/xero", headers=admin)).json()
    assert saved["saved"] is True and saved["mapping"]["tax_id"]["key"] == VAT_A


async def test_page_refuses_nonsense_and_keeps_what_was_saved(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    await client.post("/preferences/xero", data=form(), headers=admin)
    bad = await client.post(
        "/preferences/xero",
        data=form(due_rule="day_of_following_month", due_days="0"),
        headers=admin,
    )
    assert bad.status_code == 422
    assert "Nothing was saved" in bad.text and "between 1 and 31, not 0" in bad.text
    missing = await client.post(
        "/preferences/xero", data=form(tax_id="organization:" + "f" * 40), headers=admin
    )
    assert missing.status_code == 422
    assert "does not exist in Pipedrive" in missing.text
    saved = (await client.get("/api/v1/preferences/xero", headers=admin)).json()
    assert saved["due_terms"]["rule"] == "days_after_invoice"
    assert saved["mapping"]["tax_id"]["key"] == VAT_A


async def test_rep_sees_read_only_and_cannot_save(client, fake_pipedrive):
    await install_via_oauth(client, "code-101")
    rep = await install_via_oauth(client, "code-102")
    page = await client.get("/preferences", headers=rep)
    assert page.status_code == 200
    assert 'fieldset class="card" disabled' in page.text
    assert "Save preferences" not in page.text
    response = await client.post("/preferences/xero", data=form(), headers=rep)
    assert response.status_code == 403
    assert "lacks the preferences permission" in response.text
    # The rep's preview shows the saved preferences (suggested here), whatever the form says.
    preview = await client.post(
        "/preferences/xero/preview", data={"sample_deal": "31", "due_days": "400"}, headers=rep
    )
    assert preview.status_code == 200
    assert "14 days after the invoice date" in preview.text
    assert "Acme Ltd" in preview.text


async def test_live_preview_fragment(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    response = await client.post(
        "/preferences/xero/preview",
        data=form(due_rule="day_of_following_month", due_days="31"),
        headers=admin,
    )
    assert response.status_code == 200
    assert "would be due on" in response.text
    assert "day 31 of the month after the invoice" in response.text
    assert "NZ-123-456-789" in response.text
    bad = await client.post("/preferences/xero/preview", data=form(due_days="400"), headers=admin)
    assert "between 0 and 365, not 400" in bad.text


async def test_provider_tab_fragment(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    response = await client.get("/preferences/quickbooks/form", headers=admin)
    assert response.status_code == 200
    assert 'data-provider="quickbooks"' in response.text
    assert 'hx-post="/preferences/quickbooks"' in response.text


async def test_deleted_field_is_flagged_on_the_page(client, app, fake_pipedrive):
    from app.crm.pipedrive.client import FieldDefinitionCache

    admin = await install_via_oauth(client, "code-101")
    await client.post("/preferences/xero", data=form(), headers=admin)
    fake_pipedrive.deleted_fields.add(VAT_A)
    app.state.pipedrive_fields = FieldDefinitionCache()
    page = await client.get("/preferences", headers=admin)
    assert "This field was deleted in Pipedrive. Choose another." in page.text
    assert "deleted field" in page.text


async def test_page_without_sign_in_is_401(client):
    response = await client.get("/preferences")
    assert response.status_code == 401
    assert "Open this page from Pipedrive" in response.text


async def test_admins_reach_the_connections_page_from_preferences(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    page = await client.get("/preferences", headers=admin)
    assert '<a href="/connections" data-session-link>' in page.text
    # The link's script asks for a one-time code with the page's session, then follows it.
    code = await client.post("/api/v1/session/handoff", headers=session_of(page.text))
    assert code.status_code == 200 and code.json()["expires_in"] == 60
    connections = await client.get("/connections", params={"handoff": code.json()["handoff"]})
    assert connections.status_code == 200
    assert "Accounting connections" in connections.text
    assert '<a href="/preferences" data-session-link>' in connections.text


async def test_a_refused_save_keeps_what_was_typed_and_says_it_plainly(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    await client.post("/preferences/xero", data=form(), headers=admin)
    bad = await client.post(
        "/preferences/xero",
        data=form(due_days="fourteen", revenue_account="4000", reference_template="{deal}"),
        headers=admin,
    )
    assert bad.status_code == 422
    assert "Due days must be a whole number" in bad.text
    assert "Input should be" not in bad.text
    # The admin's input is still there to correct, not replaced by what was stored.
    assert (
        'name="due_days" type="number" inputmode="numeric" min="0" max="365" value="fourteen"'
        in (bad.text)
    )
    assert 'name="revenue_account" value="4000"' in bad.text
    assert 'name="reference_template" value="{deal}"' in bad.text
    saved = (await client.get("/api/v1/preferences/xero", headers=admin)).json()
    assert saved["due_terms"]["days"] == 7 and saved["defaults"]["revenue_account"] is None


async def test_a_reference_template_error_names_the_placeholder(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    unknown = await client.post(
        "/preferences/xero", data=form(reference_template="INV {deal_name}"), headers=admin
    )
    assert unknown.status_code == 422
    assert "{deal_name}, which is not a placeholder" in unknown.text
    unbalanced = await client.post(
        "/preferences/xero", data=form(reference_template="INV {deal_title"), headers=admin
    )
    assert unbalanced.status_code == 422
    assert "a { without its }" in unbalanced.text


async def test_a_mapping_must_suit_the_fields_type(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    why = "Email cannot be filled from Deal – Value: it is a monetary field"  # noqa: RUF001
    preview = await client.post(
        "/preferences/xero/preview", data=form(email="deal:value"), headers={**admin, **HTMX}
    )
    assert preview.status_code == 200
    assert why in preview.text
    refused = await client.post("/preferences/xero", data=form(email="deal:value"), headers=admin)
    assert refused.status_code == 422
    assert why in refused.text
    api = await client.put(
        "/api/v1/preferences/xero",
        json={"mapping": {"email": {"entity": "deal", "key": "value"}}},
        headers=admin,
    )
    assert api.status_code == 422
    assert "Email cannot be filled" in api.text
