"""Notes (v1) and activities (v2) on the Pipedrive stand-in: the fields and scopes the real API
requires, another company's deal answering 404, listing, and the deal page showing them."""

from __future__ import annotations

from typing import Any

from tests.sandbox.pipedrive.conftest import CONTOSO, NORTHWIND, PD

NOTES = f"{NORTHWIND}/api/v1/notes"
ACTIVITIES = f"{NORTHWIND}/api/v2/activities"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post(pd: PD, url: str, token: str, body: Any) -> Any:
    return await pd.http.post(url, json=body, headers=auth(token))


async def test_note_on_a_deal_is_stored_sanitized_and_listed(pd, northwind):
    made = await post(
        pd, NOTES, northwind, {"deal_id": 31, "content": "<p>Fix <b>it</b></p><script>x()</script>"}
    )
    assert made.status_code == 201, made.text
    note = made.json()["data"]
    assert note["deal_id"] == 31 and note["user_id"] == 101
    assert note["content"] == "<p>Fix <b>it</b></p>"
    listed = (await pd.get(NOTES, northwind, deal_id=31)).json()["data"]
    assert [n["id"] for n in listed] == [note["id"]]
    assert (await pd.get(NOTES, northwind, deal_id=32)).json()["data"] == []


async def test_note_requires_content_a_target_and_the_scope(pd, northwind):
    missing = await post(pd, NOTES, northwind, {"deal_id": 31})
    assert missing.status_code == 400 and "content" in missing.json()["error"]
    no_target = await post(pd, NOTES, northwind, {"content": "<p>x</p>"})
    assert no_target.status_code == 400
    # Deal 131 belongs to Contoso: for Northwind's token it does not exist.
    foreign = await post(pd, NOTES, northwind, {"deal_id": 131, "content": "<p>x</p>"})
    assert foreign.status_code == 404
    response = await pd.http.post(
        "/_sandbox/pipedrive/auto-approve", json={"user_id": 101, "scope": "base,deals:read"}
    )
    assert response.status_code == 200
    params = {"client_id": "pd-test-client", "redirect_uri": pd.callback}
    consent = await pd.http.get("/pipedrive/oauth/oauth/authorize", params=params)
    code = consent.headers["location"].split("code=")[1].split("&")[0]
    narrow = (await pd.exchange(code)).json()["access_token"]
    refused = await post(pd, NOTES, narrow, {"deal_id": 31, "content": "<p>x</p>"})
    assert refused.status_code == 403
    refused_activity = await post(pd, ACTIVITIES, narrow, {"subject": "x", "type": "task"})
    assert refused_activity.status_code == 403


async def test_activity_is_validated_created_listed_and_marked_done(pd, northwind):
    body = {
        "subject": "Link product CONS-HR",
        "type": "task",
        "owner_id": 102,
        "deal_id": 31,
        "due_date": "2026-03-14",
        "note": "<p>Link it</p>",
    }
    made = await post(pd, ACTIVITIES, northwind, body)
    assert made.status_code == 200, made.text
    activity = made.json()["data"]
    assert (activity["owner_id"], activity["deal_id"], activity["done"]) == (102, 31, False)
    for bad, field in (
        ({**body, "type": "nap"}, "type"),
        ({**body, "subject": ""}, "subject"),
        ({**body, "due_date": "14/03/2026"}, "due_date"),
        ({**body, "owner_id": 201}, "owner_id"),
        ({**body, "due_time": "25:00"}, "due_time"),
    ):
        refused = await post(pd, ACTIVITIES, northwind, bad)
        assert refused.status_code == 400, bad
        assert field in refused.json()["error"]
    foreign = await post(pd, ACTIVITIES, northwind, {**body, "deal_id": 131})
    assert foreign.status_code == 404
    done = await pd.http.patch(
        f"{ACTIVITIES}/{activity['id']}", json={"done": True}, headers=auth(northwind)
    )
    assert done.status_code == 200 and done.json()["data"]["done"] is True
    assert done.json()["data"]["marked_as_done_time"]
    assert (await pd.get(ACTIVITIES, northwind, deal_id=31, done="false")).json()["data"] == []
    listed = (await pd.get(ACTIVITIES, northwind, deal_id=31)).json()["data"]
    assert [a["id"] for a in listed] == [activity["id"]]
    contoso = (await pd.install(201))["access_token"]
    theirs = await pd.http.patch(
        f"{CONTOSO}/api/v2/activities/{activity['id']}", json={"done": False}, headers=auth(contoso)
    )
    assert theirs.status_code == 404


async def test_the_deal_page_shows_notes_and_activities(pd, northwind):
    await post(pd, NOTES, northwind, {"deal_id": 31, "content": "<p>Product not linked</p>"})
    todo = {"subject": "Fix the invoice rule", "type": "task", "deal_id": 31}
    await post(pd, ACTIVITIES, northwind, todo)
    page = await pd.http.get("/pipedrive/c/northwind/deal/31")
    assert page.status_code == 200
    assert "Product not linked" in page.text and "Fix the invoice rule" in page.text
    other = await pd.http.get("/pipedrive/c/northwind/deal/32")
    assert "Product not linked" not in other.text and "No activities." in other.text
