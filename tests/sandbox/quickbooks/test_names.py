"""Customers, items and the read-only lists."""

from __future__ import annotations

from tests.sandbox.quickbooks.conftest import REALM, Qbo, fault


async def test_company_info_and_preferences(api: Qbo) -> None:
    info = (await api.get(f"/companyinfo/{REALM}")).json()["CompanyInfo"]
    assert info["CompanyName"] == "Northwind Traders US"
    prefs = (await api.get("/preferences")).json()["Preferences"]
    assert prefs["CurrencyPrefs"] == {
        "MultiCurrencyEnabled": True,
        "HomeCurrency": {"value": "USD"},
    }
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    assert prefs["SalesFormsPrefs"]["DefaultTerms"] == {"value": "2"}


async def test_demo_lists(api: Qbo) -> None:
    terms = (await api.query("SELECT * FROM Term")).json()["QueryResponse"]["Term"]
    assert [t["Name"] for t in terms] == ["Net 15", "Net 30", "Due on receipt"]
    codes = (await api.query("SELECT * FROM TaxCode")).json()["QueryResponse"]["TaxCode"]
    assert [c["Id"] for c in codes] == ["TAX", "NON"]
    accounts = (await api.query("SELECT * FROM Account")).json()["QueryResponse"]["Account"]
    income = [a["Name"] for a in accounts if a["AccountType"] in ("Income", "Other Income")]
    assert "Services" in income and "Advertising" not in income
    assert (await api.get("/term/2")).json()["Term"]["DueDays"] == 30


async def test_create_customer_and_duplicate_display_name(api: Qbo) -> None:
    body = {"DisplayName": "Umbrella Pty", "CurrencyRef": {"value": "NZD"}}
    created = await api.post("/customer", body)
    assert created.status_code == 200
    customer = created.json()["Customer"]
    assert customer["CurrencyRef"]["value"] == "NZD" and customer["Balance"] == 0
    duplicate = await api.post("/customer", {"DisplayName": "umbrella pty"})
    assert duplicate.status_code == 400
    assert fault(duplicate)["code"] == "6240"
    assert fault(duplicate)["Message"] == "Duplicate Name Exists Error"


async def test_display_name_generated_or_required(api: Qbo) -> None:
    made = (await api.post("/customer", {"GivenName": "Ada", "FamilyName": "Byron"})).json()
    assert made["Customer"]["DisplayName"] == "Ada Byron"
    assert fault(await api.post("/customer", {"Notes": "nameless"}))["code"] == "6080"


async def test_customer_sparse_update_and_stale_token(api: Qbo) -> None:
    body = {"Id": "3", "SyncToken": "0", "sparse": True, "PrimaryEmailAddr": {"Address": "x@a.t"}}
    updated = (await api.post("/customer", body)).json()["Customer"]
    assert updated["SyncToken"] == "1" and updated["DisplayName"] == "Acme Ltd"
    assert fault(await api.post("/customer", body))["code"] == "5010"
    rename = {"Id": "3", "SyncToken": "1", "sparse": True, "DisplayName": "Globex Corporation"}
    assert fault(await api.post("/customer", rename))["code"] == "6240"


async def test_customer_currency_is_fixed_once_it_has_transactions(api: Qbo) -> None:
    globex = {"Id": "1", "SyncToken": "0", "sparse": True, "CurrencyRef": {"value": "EUR"}}
    refused = await api.post("/customer", globex)
    assert refused.status_code == 400 and fault(refused)["element"] == "CurrencyRef"
    # Acme has no invoices yet: its currency may still change.
    acme = {"Id": "3", "SyncToken": "0", "sparse": True, "CurrencyRef": {"value": "GBP"}}
    assert (await api.post("/customer", acme)).json()["Customer"]["CurrencyRef"]["value"] == "GBP"


async def test_customer_balance_is_its_open_invoices(api: Qbo) -> None:
    globex = (await api.get("/customer/1")).json()["Customer"]
    invoices = (await api.query("SELECT * FROM Invoice WHERE CustomerRef = '1'")).json()
    expected = round(sum(i["Balance"] for i in invoices["QueryResponse"]["Invoice"]), 2)
    assert globex["Balance"] == expected > 0


async def test_item_query_by_sku_and_create_rules(api: Qbo) -> None:
    hits = (await api.query("SELECT *, Sku FROM Item WHERE Sku = 'CONS-HR'")).json()
    assert [i["Name"] for i in hits["QueryResponse"]["Item"]] == ["Consulting hour"]
    created = await api.post(
        "/item",
        {
            "Name": "Training day",
            "Sku": "TRAIN-DAY",
            "Type": "Service",
            "UnitPrice": 900,
            "IncomeAccountRef": {"value": "2"},
        },
    )
    assert created.status_code == 200
    assert created.json()["Item"]["IncomeAccountRef"] == {"value": "2", "name": "Services"}
    duplicate = await api.post(
        "/item", {"Name": "Training Day", "Type": "Service", "IncomeAccountRef": {"value": "2"}}
    )
    assert fault(duplicate)["code"] == "6240"
    no_account = await api.post("/item", {"Name": "Widget", "Type": "NonInventory"})
    assert (
        fault(no_account)["code"] == "2020" and fault(no_account)["element"] == "IncomeAccountRef"
    )
    wrong = await api.post(
        "/item", {"Name": "Widget", "Type": "Service", "IncomeAccountRef": {"value": "5"}}
    )
    assert fault(wrong)["code"] == "6430"
    bad_type = await api.post("/item", {"Name": "Widget", "Type": "Gadget"})
    assert fault(bad_type)["code"] == "2170"


async def test_unknown_entity_path_and_missing_id(api: Qbo) -> None:
    assert fault(await api.get("/customer/999"))["code"] == "610"
    assert fault(await api.get("/bill/1"))["code"] == "5030"
