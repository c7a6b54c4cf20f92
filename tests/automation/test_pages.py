"""The invoice rules page: admins add rules in their own number format, see the log and the
reason a rule was turned off; settings are checked; other companies' rules are 404."""

from __future__ import annotations

from tests.automation.conftest import add_rule
from tests.crm.pipedrive.test_sandbox_flows import install_through_sandbox


async def test_admin_adds_a_rule_and_sets_follow_up_on_the_page(client, northwind):
    page = await client.get("/automation", headers=northwind.headers)
    assert page.status_code == 200 and "No rules yet" in page.text
    prefs = await client.get("/preferences", headers=northwind.headers)
    assert 'href="/automation"' in prefs.text
    form = {
        "name": "Big NZ deals",
        "trigger": "won",
        "provider": "quickbooks",
        "min_amount": "1,000.50",
        "currency": "nzd",
        "only_with_products": "on",
    }
    added = await client.post("/automation/rules", data=form, headers=northwind.headers)
    assert added.status_code == 200, added.text
    assert "Big NZ deals" in added.text and "above 1000.50 in NZD" in added.text
    rules = (await client.get("/api/v1/automation/rules", headers=northwind.headers)).json()
    assert rules[0]["min_amount"] == "1000.50" and rules[0]["provider"] == "quickbooks"

    bad = await client.post(
        "/automation/rules",
        data={**form, "trigger": "stage", "pipeline_id": "1", "stage_id": "42"},
        headers=northwind.headers,
    )
    assert bad.status_code == 422 and "Pipedrive has no stage 42." in bad.text

    steps = await client.post(
        "/automation/settings",
        data={"overdue_followup": "on", "overdue_steps": "14, 1, 7"},
        headers=northwind.headers,
    )
    assert steps.status_code == 200 and 'value="1, 7, 14"' in steps.text
    wrong = await client.post(
        "/automation/settings", data={"overdue_steps": "0"}, headers=northwind.headers
    )
    assert wrong.status_code == 422 and "between 1 and 365" in wrong.text


async def test_the_page_is_for_admins_of_the_company(client, sandbox, northwind, contoso):
    rule = await add_rule(client, northwind.headers)
    toggle = f"/automation/rules/{rule['id']}/toggle"
    assert (await client.post(toggle, headers=contoso.headers)).status_code == 404
    delete = f"/automation/rules/{rule['id']}/delete"
    assert (await client.post(delete, headers=contoso.headers)).status_code == 404
    _, rep = await install_through_sandbox(client, sandbox, 102)
    assert (await client.get("/automation", headers=rep)).status_code == 403
    assert (await client.get("/api/v1/automation/rules", headers=rep)).status_code == 403
    off = await client.post(toggle, headers=northwind.headers)
    assert off.status_code == 200 and "Turn on" in off.text
