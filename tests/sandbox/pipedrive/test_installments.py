"""Deal installments in the Pipedrive stand-in, validated as Pipedrive does
(lifecycle-and-billing.md §3.7): Growth plans and up, all three fields on add, amount > 0,
dates as YYYY-MM-DD, one-time products only, another company's deal a 404."""

from __future__ import annotations

import pytest

from sandbox.pipedrive.api.installments import allowed_on
from sandbox.pipedrive.errors import PipedriveError
from tests.sandbox.pipedrive.conftest import CONTOSO, NORTHWIND

V2 = f"{NORTHWIND}/api/v2"
GOOD = {"description": "Deposit 30%", "amount": 300, "billing_date": "2026-02-01"}


async def post(pd, token, url, body):
    return await pd.http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})


async def test_installments_follow_pipedrives_rules(pd, northwind):
    lite = await post(pd, northwind, f"{V2}/deals/31/installments", GOOD)
    assert lite.status_code == 402 and lite.json()["success"] is False
    await pd.http.post("/_sandbox/pipedrive/companies/7001/limits", json={"plan": "growth"})
    added = await post(pd, northwind, f"{V2}/deals/31/installments", GOOD)
    assert added.status_code == 200, added.text
    item = added.json()["data"]
    assert {k: item[k] for k in ("deal_id", "description", "amount", "billing_date")} == {
        "deal_id": 31,
        **GOOD,
    }
    for bad, field in [
        ({**GOOD, "amount": 0}, "amount"),
        ({**GOOD, "amount": "300"}, "amount"),
        ({**GOOD, "billing_date": "01/02/2026"}, "billing_date"),
        ({"description": "x", "amount": 1}, "billing_date"),
        ({**GOOD, "currency": "NZD"}, "currency"),
    ]:
        refused = await post(pd, northwind, f"{V2}/deals/31/installments", bad)
        assert refused.status_code == 400 and field in refused.json()["error"], refused.text
    await post(pd, northwind, f"{V2}/deals/31/installments", {**GOOD, "billing_date": "2026-01-01"})
    listed = await pd.get(
        f"{V2}/deals/installments", northwind, deal_ids="31", sort_by="billing_date"
    )
    assert [i["billing_date"] for i in listed.json()["data"]] == ["2026-01-01", "2026-02-01"]
    assert (await pd.get(f"{V2}/deals/installments", northwind)).status_code == 400
    # Another company's api_domain or deal: nothing to see.
    assert (
        await post(pd, northwind, f"{CONTOSO}/api/v2/deals/31/installments", GOOD)
    ).status_code in (401, 403, 404)
    edited = await pd.http.patch(
        f"{V2}/deals/31/installments/{item['id']}",
        json={"amount": 250.5},
        headers={"Authorization": f"Bearer {northwind}"},
    )
    assert edited.json()["data"]["amount"] == 250.5
    gone = await pd.http.delete(
        f"{V2}/deals/31/installments/{item['id']}", headers={"Authorization": f"Bearer {northwind}"}
    )
    assert gone.status_code == 200
    listed = await pd.get(f"{V2}/deals/installments", northwind, deal_ids="31")
    assert len(listed.json()["data"]) == 1


class FakeData:
    def __init__(self, frequencies: list[str]) -> None:
        self.lines = [{"billing_frequency": f} for f in frequencies]

    def deal_lines(self, company_id: int, deal_id: int) -> list[dict[str, str]]:
        return self.lines


class FakePipedrive:
    def __init__(self, frequencies: list[str]) -> None:
        self.data = FakeData(frequencies)


def test_installments_and_recurring_products_exclude_each_other() -> None:
    company, deal = {"id": 7001, "plan": "growth"}, {"id": 31}
    allowed_on(FakePipedrive(["one-time"]), company, deal)  # type: ignore[arg-type]
    for frequencies, words in [
        (["one-time", "monthly"], "recurring products"),
        ([], "one-time product"),
    ]:
        with pytest.raises(PipedriveError) as exc:
            allowed_on(FakePipedrive(frequencies), company, deal)  # type: ignore[arg-type]
        assert exc.value.status == 400 and words in exc.value.message
