"""Stages, stage changes and won/lost from the deal page, each firing the v2 webhook a real
change would; a change whose webhook is lost; the deal list's ``updated_since``."""

from __future__ import annotations

import json

from tests.sandbox.pipedrive.conftest import NORTHWIND


def posted(pd):
    return [
        json.loads(r["body"]) for r in pd.receiver.of("POST") if r["path"] == "/webhooks/pipedrive"
    ]


async def test_stage_change_and_won_from_the_deal_page_send_webhooks(pd, northwind):
    stages = (await pd.get(f"{NORTHWIND}/api/v2/stages", northwind, pipeline_id=1)).json()
    assert [s["id"] for s in stages["data"]] == [1, 2, 3, 4, 5]
    moved = await pd.http.post(
        "/pipedrive/c/northwind/deal/31/change", data={"stage_id": "5", "user_id": "101"}
    )
    assert moved.status_code == 303
    won = await pd.http.post("/pipedrive/c/northwind/deal/31/change", data={"status": "won"})
    assert won.status_code == 303
    await pd.sandbox.webhooks.drain(timeout=5)
    # Deliveries go out concurrently (and a late retry of another test may land): pick ours.
    mine = [b for b in posted(pd) if b["meta"]["entity_id"] == "31"]
    first = next(b for b in mine if "stage_id" in (b["previous"] or {}))
    second = next(b for b in mine if "status" in (b["previous"] or {}))
    assert len(mine) == 2
    assert first["previous"]["stage_id"] == 3 and first["data"]["stage_id"] == 5
    assert first["data"]["stage_change_time"]
    assert second["previous"]["status"] == "open" and second["data"]["status"] == "won"
    assert second["data"]["won_time"]
    page = await pd.http.get("/pipedrive/c/northwind/deal/31")
    assert "Reopen" in page.text


async def test_a_deleted_stage_is_not_found_and_cannot_be_entered(pd, northwind):
    gone = await pd.http.delete("/_sandbox/pipedrive/companies/7001/stages/5")
    assert gone.status_code == 200
    assert (await pd.get(f"{NORTHWIND}/api/v2/stages/5", northwind)).status_code == 404
    refused = await pd.http.patch("/_sandbox/pipedrive/deals/31", json={"stage_id": 5})
    assert refused.status_code == 422


async def test_a_lost_webhook_and_updated_since(pd, northwind):
    before = (await pd.get(f"{NORTHWIND}/api/v2/deals/31", northwind)).json()["data"]
    await pd.advance(5)
    silent = await pd.http.patch(
        "/_sandbox/pipedrive/deals/31", json={"status": "won", "notify": False}
    )
    assert silent.status_code == 200 and silent.json()["webhooks"] == []
    await pd.sandbox.webhooks.drain(timeout=5)
    assert [b for b in posted(pd) if b["data"] and b["data"].get("status") == "won"] == []
    recent = await pd.get(
        f"{NORTHWIND}/api/v2/deals", northwind, updated_since=before["update_time"][:-1] + "Z"
    )
    ids = [d["id"] for d in recent.json()["data"]]
    assert 31 in ids
    later = await pd.get(
        f"{NORTHWIND}/api/v2/deals", northwind, updated_since="2999-01-01T00:00:00Z"
    )
    assert later.json()["data"] == []
    bad = await pd.get(f"{NORTHWIND}/api/v2/deals", northwind, updated_since="yesterday")
    assert bad.status_code == 400
