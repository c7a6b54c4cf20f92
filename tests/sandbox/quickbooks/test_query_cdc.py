"""The query language subset and Change Data Capture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.sandbox.quickbooks.conftest import API, Qbo, fault, invoice_body


def names(response_json: dict, entity: str) -> list[str]:  # type: ignore[type-arg]
    return [e.get("DisplayName") or e.get("Name") for e in response_json["QueryResponse"][entity]]


async def test_where_in_like_and_equality(api: Qbo) -> None:
    eq = (await api.query("SELECT * FROM Customer WHERE DisplayName = 'Acme Ltd'")).json()
    assert names(eq, "Customer") == ["Acme Ltd"]
    within = (await api.query("select * from customer where Id IN ('1', '3')")).json()
    assert names(within, "Customer") == ["Globex Corporation", "Acme Ltd"]
    like = (await api.query("SELECT * FROM Customer WHERE DisplayName LIKE '%tech%'")).json()
    assert names(like, "Customer") == ["Initech GmbH"]
    both = await api.query(
        "SELECT * FROM Invoice WHERE CustomerRef = '1' AND Balance > '0' ORDERBY DocNumber DESC"
    )
    docs = [i["DocNumber"] for i in both.json()["QueryResponse"]["Invoice"]]
    assert docs == ["1004", "1002", "1001"]  # 1003 is paid


async def test_escaped_quote(api: Qbo) -> None:
    await api.post("/customer", {"DisplayName": "O'Brien Ltd"})
    hits = (await api.query("SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien Ltd'")).json()
    assert names(hits, "Customer") == ["O'Brien Ltd"]


async def test_paging_and_count(api: Qbo) -> None:
    page = (await api.query("SELECT * FROM Item STARTPOSITION 3 MAXRESULTS 2")).json()
    assert names(page, "Item") == ["Annual licence", "Support plan (monthly)"]
    assert page["QueryResponse"]["startPosition"] == 3
    assert page["QueryResponse"]["maxResults"] == 2
    count = (await api.query("SELECT COUNT(*) FROM Item")).json()
    assert count["QueryResponse"] == {"totalCount": 7}


async def test_zero_hits_have_no_entity_key(api: Qbo) -> None:
    response = (await api.query("SELECT * FROM Invoice WHERE DocNumber = 'nope'")).json()
    assert response["QueryResponse"] == {}


async def test_post_query_as_application_text(api: Qbo) -> None:
    response = await api.http.post(
        API + "/query",
        content=b"SELECT * FROM Term WHERE Name = 'Net 15'",
        headers={**api.auth(), "Content-Type": "application/text"},
    )
    assert names(response.json(), "Term") == ["Net 15"]


async def test_last_updated_time_filter(api: Qbo) -> None:
    await api.advance(120)
    since = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    await api.post("/invoice", invoice_body(DocNumber="LATE-1"))
    hits = (
        await api.query(f"SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '{since}'")
    ).json()
    assert [i["DocNumber"] for i in hits["QueryResponse"]["Invoice"]] == ["LATE-1"]


async def test_or_is_refused(api: Qbo) -> None:
    response = await api.query("SELECT * FROM Customer WHERE Id = '1' OR Id = '2'")
    assert response.status_code == 400
    assert fault(response)["code"] == "4000"
    assert "OR" in fault(response)["Detail"]


async def test_garbage_and_unknown_entity(api: Qbo) -> None:
    assert fault(await api.query("SELEKT * FROM Invoice"))["code"] == "4000"
    assert fault(await api.query("SELECT * FROM Spaceship"))["code"] == "4000"


async def test_cdc_reports_changes_and_deletions(api: Qbo) -> None:
    await api.advance(600)
    since = (datetime.now(UTC) + timedelta(seconds=590)).isoformat()
    created = (await api.post("/invoice", invoice_body())).json()["Invoice"]
    await api.post("/invoice", {"Id": "1", "SyncToken": "0"}, operation="delete")
    await api.post("/customer", {"DisplayName": "New Co"})
    response = await api.get("/cdc", entities="Invoice,Customer", changedSince=since)
    assert response.status_code == 200
    parts = response.json()["CDCResponse"][0]["QueryResponse"]
    invoices = parts[0]["Invoice"]
    assert {i["Id"] for i in invoices} == {created["Id"], "1"}
    deleted = next(i for i in invoices if i["Id"] == "1")
    assert deleted["status"] == "Deleted"
    assert [c["DisplayName"] for c in parts[1]["Customer"]] == ["New Co"]


async def test_cdc_look_back_is_30_days(api: Qbo) -> None:
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    response = await api.get("/cdc", entities="Invoice", changedSince=old)
    assert response.status_code == 400 and fault(response)["element"] == "changedSince"
    missing = await api.get("/cdc", entities="Invoice")
    assert fault(missing)["code"] == "2020"


async def test_inactive_names_are_hidden_unless_asked_for(api: Qbo) -> None:
    await api.post("/customer", {"Id": "3", "SyncToken": "0", "sparse": True, "Active": False})
    active = (await api.query("SELECT * FROM Customer")).json()
    assert "Acme Ltd" not in names(active, "Customer")
    everyone = (await api.query("SELECT * FROM Customer WHERE Active IN (true, false)")).json()
    assert "Acme Ltd" in names(everyone, "Customer")
    assert (await api.get("/customer/3")).json()["Customer"]["Active"] is False
    refused = await api.post("/invoice", invoice_body(CustomerRef={"value": "3"}))
    assert fault(refused)["code"] == "2500"
