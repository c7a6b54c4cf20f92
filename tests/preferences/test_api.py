"""The preferences API against a scripted Pipedrive: defaults, saving, validation, isolation."""

from __future__ import annotations

from app.crm.pipedrive.client import FieldDefinitionCache
from tests.crm.pipedrive.fake import COMPANIES
from tests.preferences.helpers import install_via_oauth

VAT_A = COMPANIES[7001]["vat"]
VAT_B = COMPANIES[7002]["vat"]


def body(**over):
    payload = {
        "mapping": {
            "to": {"entity": "organization", "key": "name"},
            "address": {"entity": "organization", "key": "address"},
            "email": {"entity": "person", "key": "email"},
            "tax_id": {"entity": "organization", "key": VAT_A},
        },
        "due_terms": {"rule": "days_after_invoice", "days": 7, "use_contact_terms": False},
        "defaults": {
            "tax_mode": "inclusive",
            # Tax rate, revenue account and template need a connected provider's lists
            # (tests/preferences/test_provider_lists.py); none is connected here.
            "tax_rate": None,
            "revenue_account": None,
            "template": None,
            "update_customer_info": True,
            "reference_template": "{deal_title} ({deal_id})",
        },
    }
    payload.update(over)
    return payload


async def test_unsaved_preferences_are_the_suggested_defaults(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    response = await client.get("/api/v1/preferences/xero", headers=admin)
    assert response.status_code == 200, response.text
    prefs = response.json()
    assert prefs["saved"] is False
    mapping = prefs["mapping"]
    assert (mapping["to"]["entity"], mapping["to"]["key"], mapping["to"]["name"]) == (
        "organization",
        "name",
        "Name",
    )
    assert mapping["address"]["key"] == "address" and mapping["address"]["status"] == "ok"
    assert (mapping["email"]["entity"], mapping["email"]["key"]) == ("person", "email")
    assert mapping["tax_id"] is None
    assert prefs["defaults"]["reference_template"] == "{deal_title}"
    assert prefs["defaults"]["tax_mode"] == "exclusive"


async def test_admin_saves_and_reads_back(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    response = await client.put("/api/v1/preferences/xero", json=body(), headers=admin)
    assert response.status_code == 200, response.text
    saved = (await client.get("/api/v1/preferences/xero", headers=admin)).json()
    assert saved["saved"] is True
    assert saved["mapping"]["tax_id"] == {
        "entity": "organization",
        "key": VAT_A,
        "name": "VAT number",
        "field_type": "varchar",
        "status": "ok",
    }
    assert saved["due_terms"]["description"] == "7 days after the invoice date"
    assert saved["defaults"]["update_customer_info"] is True
    assert saved["defaults"]["reference_template"] == "{deal_title} ({deal_id})"
    # QuickBooks has its own preferences, still the suggestions.
    other = (await client.get("/api/v1/preferences/quickbooks", headers=admin)).json()
    assert other["saved"] is False


async def test_rep_cannot_save(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    rep = await install_via_oauth(client, "code-102")
    response = await client.put("/api/v1/preferences/xero", json=body(), headers=rep)
    assert response.status_code == 403
    assert "admin" in response.json()["error"]["message"]
    assert (await client.get("/api/v1/preferences/xero", headers=admin)).json()["saved"] is False
    # Reps may read.
    assert (await client.get("/api/v1/preferences/xero", headers=rep)).status_code == 200


async def _saved_then(client, admin, payload):
    assert (
        await client.put("/api/v1/preferences/xero", json=body(), headers=admin)
    ).status_code == 200
    response = await client.put("/api/v1/preferences/xero", json=payload, headers=admin)
    after = (await client.get("/api/v1/preferences/xero", headers=admin)).json()
    assert after["due_terms"]["days"] == 7, "a refused save must change nothing"
    assert after["mapping"]["tax_id"]["key"] == VAT_A
    return response


async def test_unknown_field_is_422_naming_it(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    payload = body()
    payload["mapping"]["tax_id"] = {"entity": "organization", "key": "f" * 40}
    payload["due_terms"]["days"] = 30
    response = await _saved_then(client, admin, payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "mapping.tax_id"
    assert f"organization field '{'f' * 40}' does not exist" in error["message"]


async def test_field_that_cannot_hold_text_is_422(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    payload = body()
    payload["mapping"]["to"] = {"entity": "deal", "key": "add_time"}
    response = await client.put("/api/v1/preferences/xero", json=payload, headers=admin)
    assert response.status_code == 422
    assert "cannot hold text" in response.json()["error"]["message"]


async def test_nonsense_due_terms_are_422(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    payload = body(due_terms={"rule": "day_of_following_month", "days": 0})
    response = await _saved_then(client, admin, payload)
    assert response.status_code == 422
    assert "between 1 and 31, not 0" in response.json()["error"]["message"]
    payload = body(due_terms={"rule": "days_after_invoice", "days": 400})
    response = await _saved_then(client, admin, payload)
    assert response.status_code == 422
    assert "between 0 and 365, not 400" in response.json()["error"]["message"]


async def test_bad_shapes_are_422(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    typo = body()
    typo["defaults"]["tax_mdoe"] = "inclusive"
    response = await client.put("/api/v1/preferences/xero", json=typo, headers=admin)
    assert response.status_code == 422
    assert "tax_mdoe" in response.json()["error"]["message"]
    bad_tax = body()
    bad_tax["defaults"]["tax_mode"] = "sometimes"
    response = await client.put("/api/v1/preferences/xero", json=bad_tax, headers=admin)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "defaults.tax_mode"
    bad_ref = body()
    bad_ref["defaults"]["reference_template"] = "{deal_name}"
    response = await client.put("/api/v1/preferences/xero", json=bad_ref, headers=admin)
    assert response.status_code == 422
    assert "{deal_name}, which is not a placeholder" in response.json()["error"]["message"]
    response = await client.put("/api/v1/preferences/sage", json=body(), headers=admin)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "provider"


async def test_crm_fields_are_grouped_with_names(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    response = await client.get("/api/v1/crm/fields", headers=admin)
    assert response.status_code == 200
    fields = response.json()
    assert set(fields) == {"organization", "person", "deal"}
    vat = next(f for f in fields["organization"] if f["key"] == VAT_A)
    assert (vat["name"], vat["is_custom"], vat["mappable"]) == ("VAT number", True, True)
    created = next(f for f in fields["deal"] if f["key"] == "add_time")
    assert created["mappable"] is False


async def test_deleted_custom_field_is_flagged(client, app, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    assert (
        await client.put("/api/v1/preferences/xero", json=body(), headers=admin)
    ).status_code == 200
    fake_pipedrive.deleted_fields.add(VAT_A)
    app.state.pipedrive_fields = FieldDefinitionCache()  # as if the short TTL had passed
    prefs = (await client.get("/api/v1/preferences/xero", headers=admin)).json()
    assert prefs["mapping"]["tax_id"]["status"] == "deleted"
    assert any("was deleted in Pipedrive" in w for w in prefs["warnings"])
    preview = await client.get(
        "/api/v1/preferences/xero/preview", params={"deal_id": 31}, headers=admin
    )
    assert preview.json()["customer"]["tax_id"] is None
    assert any("no longer exists" in w for w in preview.json()["warnings"])


async def test_preview_of_due_date_and_customer(client, fake_pipedrive):
    admin = await install_via_oauth(client, "code-101")
    await client.put("/api/v1/preferences/xero", json=body(), headers=admin)
    response = await client.get(
        "/api/v1/preferences/xero/preview",
        params={"deal_id": 31, "invoice_date": "2026-03-13"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["due_date"] == "2026-03-20"
    assert preview["customer"] == {
        "to": "Acme Ltd",
        "address": "12 Queen Street\nAuckland 1010\nNew Zealand",
        "email": "alice@acme.test",
        "tax_id": "NZ-123-456-789",
    }
    assert preview["reference"] == "Acme rollout (31)"
    assert preview["warnings"] == []


async def test_companies_are_isolated(client, fake_pipedrive):
    a = await install_via_oauth(client, "code-101")
    b = await install_via_oauth(client, "code-201")
    assert (await client.put("/api/v1/preferences/xero", json=body(), headers=a)).status_code == 200
    # Company B sees its own (unsaved) preferences, not A's.
    assert (await client.get("/api/v1/preferences/xero", headers=b)).json()["saved"] is False
    # B cannot save A's custom field: it does not exist in B's Pipedrive.
    response = await client.put("/api/v1/preferences/xero", json=body(), headers=b)
    assert response.status_code == 422
    # A's deal id through B's account is 404; B's own deal works.
    other = await client.get("/api/v1/preferences/xero/preview", params={"deal_id": 31}, headers=b)
    assert other.status_code == 404
    own = await client.get("/api/v1/preferences/xero/preview", params={"deal_id": 131}, headers=b)
    assert own.status_code == 200
    # B's field listing has B's custom key only.
    keys = [
        f["key"] for f in (await client.get("/api/v1/crm/fields", headers=b)).json()["organization"]
    ]
    assert VAT_B in keys and VAT_A not in keys


async def test_requires_a_session(client):
    assert (await client.get("/api/v1/preferences/xero")).status_code == 401
    assert (await client.put("/api/v1/preferences/xero", json=body())).status_code == 401
    assert (await client.get("/api/v1/crm/fields")).status_code == 401
