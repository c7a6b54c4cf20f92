"""The `bench` seed's Pipedrive companies: each admin installs into a company of its own, whose
deals are the demo's under ids of their own (bench/create_invoice.py spreads its creates over
them)."""

from __future__ import annotations

from tests.sandbox.pipedrive.conftest import PUBLIC


async def test_each_bench_company_has_an_admin_and_its_own_acme_rollout(pd):
    seeded = await pd.http.post("/_sandbox/seed", params={"name": "bench", "companies": 3})
    assert seeded.status_code == 200, seeded.text
    companies = seeded.json()["pipedrive"]["companies"]
    assert [c["deal_id"] for c in companies] == [1031, 2031, 3031]
    assert len({c["admin_user_id"] for c in companies}) == 3
    second, third = companies[1], companies[2]
    token = await pd.install(second["admin_user_id"])
    assert token["api_domain"].endswith(f"/pipedrive/c/{second['domain']}")
    base = f"{PUBLIC}/pipedrive/c/{second['domain']}/api/v2"
    bearer = token["access_token"]
    deal = (await pd.get(f"{base}/deals/{second['deal_id']}", bearer)).json()["data"]
    assert (deal["title"], deal["currency"], deal["org_id"]) == ("Acme rollout", "NZD", 2011)
    lines = (await pd.get(f"{base}/deals/{second['deal_id']}/products", bearer)).json()["data"]
    assert len(lines) == 3
    org = (await pd.get(f"{base}/organizations/2011", bearer)).json()["data"]
    assert org["name"] == "Acme Ltd"
    # Another company's deal and the demo's are not this company's.
    assert (await pd.get(f"{base}/deals/{third['deal_id']}", bearer)).status_code == 404
    assert (await pd.get(f"{base}/deals/31", bearer)).status_code == 404


async def test_seeding_the_bench_again_keeps_what_exists(pd):
    first = await pd.http.post("/_sandbox/seed", params={"name": "bench", "companies": 2})
    again = await pd.http.post("/_sandbox/seed", params={"name": "bench", "companies": 3})
    assert first.json()["pipedrive"]["written"]["companies"] == 2
    assert again.json()["pipedrive"]["written"]["companies"] == 1
    assert len(again.json()["pipedrive"]["companies"]) == 3
