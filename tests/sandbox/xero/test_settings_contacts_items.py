"""Organisation settings, contacts and items through HTTP, on the demo seed."""

from __future__ import annotations

import httpx2

from tests.sandbox.xero.conftest import AU, NZ


async def test_organisation_has_base_currency_and_short_code(xero):
    org = (await xero.get("/Organisation")).json()["Organisations"][0]
    assert (org["OrganisationID"], org["Name"], org["BaseCurrency"], org["ShortCode"]) == (
        NZ,
        "Northwind Traders NZ",
        "NZD",
        "!NwT01",
    )
    xero.tenant = AU
    org = (await xero.get("/Organisation")).json()["Organisations"][0]
    assert (org["BaseCurrency"], org["ShortCode"]) == ("AUD", "!NwD02")


async def test_users_carry_their_role_in_this_organisation(xero):
    users = {
        u["EmailAddress"]: u["OrganisationRole"] for u in (await xero.get("/Users")).json()["Users"]
    }
    assert users == {
        "nora@northwind.test": "STANDARD",
        "fiona@northwind.test": "FINANCIALADVISER",
        "ivan@northwind.test": "INVOICEONLY",
        "rob@northwind.test": "READONLY",
    }
    xero.tenant = AU
    au = {
        u["EmailAddress"]: u["OrganisationRole"] for u in (await xero.get("/Users")).json()["Users"]
    }
    assert au["colin@contoso.test"] == "STANDARD"
    one = (
        await xero.get("/Users", params={"where": 'EmailAddress=="nora@northwind.test"'})
    ).json()["Users"][0]
    assert (await xero.get(f"/Users/{one['UserID']}")).json()["Users"][0]["FirstName"] == "Nora"


async def test_currencies_tax_rates_accounts_and_themes(xero):
    assert [c["Code"] for c in (await xero.get("/Currencies")).json()["Currencies"]] == [
        "NZD",
        "USD",
        "EUR",
    ]
    rates = {r["TaxType"]: r for r in (await xero.get("/TaxRates")).json()["TaxRates"]}
    assert set(rates) == {"OUTPUT2", "NONE", "ZERORATEDOUTPUT", "INPUT2"}
    assert (
        rates["OUTPUT2"]["EffectiveRate"] == 15 and rates["OUTPUT2"]["Name"] == "15% GST on Income"
    )
    assert rates["INPUT2"]["CanApplyToRevenue"] is False
    revenue = (await xero.get("/TaxRates", params={"where": "CanApplyToRevenue==true"})).json()[
        "TaxRates"
    ]
    assert "INPUT2" not in {r["TaxType"] for r in revenue}
    accounts = (
        await xero.get("/Accounts", params={"where": 'Class=="REVENUE" AND Status=="ACTIVE"'})
    ).json()
    assert sorted(a["Code"] for a in accounts["Accounts"]) == ["200", "260"]
    themes = (await xero.get("/BrandingThemes")).json()["BrandingThemes"]
    assert [(t["Name"], t["SortOrder"]) for t in themes] == [
        ("Standard", 0),
        ("Special Projects", 1),
    ]


async def test_items_list_get_search_create_update(xero):
    items = (await xero.get("/Items")).json()["Items"]
    assert {i["Code"] for i in items} == {
        "CONS-HR",
        "IMPL-PKG",
        "LIC-ANN",
        "TRAIN-DAY",
        "SUP-MONTHLY",
    }
    sup = next(i for i in items if i["Code"] == "SUP-MONTHLY")
    assert sup["Name"] == "Support plan (monthly)" and sup["SalesDetails"]["UnitPrice"] == 99
    by_code = (await xero.get("/Items/CONS-HR")).json()["Items"][0]
    assert by_code["SalesDetails"] == {"UnitPrice": 150, "AccountCode": "200", "TaxType": "OUTPUT2"}
    found = (await xero.get("/Items", params={"where": 'Name.Contains("licence")'})).json()["Items"]
    assert [i["Code"] for i in found] == ["LIC-ANN"]
    created = await xero.put(
        "/Items",
        {
            "Items": [
                {
                    "Code": "HW-KIT",
                    "Name": "Hardware kit",
                    "SalesDetails": {"UnitPrice": 349.95, "AccountCode": "200"},
                }
            ]
        },
    )
    item = created.json()["Items"][0]
    assert item["ItemID"] and item["SalesDetails"]["UnitPrice"] == 349.95
    updated = await xero.post(
        f"/Items/{item['ItemID']}", {"Items": [{"Code": "HW-KIT", "Name": "Hardware kit v2"}]}
    )
    assert updated.json()["Items"][0]["Name"] == "Hardware kit v2"
    duplicate = await xero.put("/Items", {"Items": [{"Code": "HW-KIT"}]})
    assert duplicate.status_code == 400
    assert duplicate.json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "Item code 'HW-KIT' already exists"}
    ]


async def test_contacts_search_paging_and_ids(xero):
    everyone = (await xero.get("/Contacts")).json()["Contacts"]
    assert [c["Name"] for c in everyone] == ["Acme Ltd", "Globex Corporation", "Soylent Corp"]
    assert everyone[1]["DefaultCurrency"] == "USD"
    search = (await xero.get("/Contacts", params={"searchTerm": "ACME.TEST"})).json()["Contacts"]
    assert [c["Name"] for c in search] == ["Acme Ltd"]  # EmailAddress is searched, any case
    page = (await xero.get("/Contacts", params={"page": "1", "pageSize": "2"})).json()
    assert page["pagination"] == {"page": 1, "pageSize": 2, "pageCount": 2, "itemCount": 3}
    ids = (await xero.get("/Contacts", params={"IDs": everyone[2]["ContactID"]})).json()["Contacts"]
    assert [c["Name"] for c in ids] == ["Soylent Corp"]
    where = (await xero.get("/Contacts", params={"where": 'Name.StartsWith("glo")'})).json()[
        "Contacts"
    ]
    assert [c["Name"] for c in where] == ["Globex Corporation"]


async def test_contact_create_update_and_unique_active_name(xero):
    body = {
        "Contacts": [
            {
                "Name": "Initech GmbH",
                "ContactNumber": "pd-org-13",
                "EmailAddress": "ina@initech.test",
                "TaxNumber": "DE123456789",
                "Addresses": [
                    {
                        "AddressType": "POBOX",
                        "AddressLine1": "Hauptstrasse 5",
                        "City": "Berlin",
                        "PostalCode": "10115",
                        "Country": "Germany",
                    }
                ],
            }
        ]
    }
    created = (await xero.put("/Contacts", body)).json()["Contacts"][0]
    assert created["ContactStatus"] == "ACTIVE" and created["TaxNumber"] == "DE123456789"
    by_number = (await xero.get("/Contacts/pd-org-13")).json()["Contacts"][0]
    assert by_number["ContactID"] == created["ContactID"]
    duplicate = await xero.put("/Contacts", {"Contacts": [{"Name": "initech gmbh"}]})
    assert duplicate.status_code == 400
    assert duplicate.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "The contact name initech gmbh is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )
    updated = await xero.post(
        f"/Contacts/{created['ContactID']}", {"Contacts": [{"EmailAddress": "ap@initech.test"}]}
    )
    assert updated.json()["Contacts"][0]["EmailAddress"] == "ap@initech.test"
    archived = await xero.post(
        f"/Contacts/{created['ContactID']}", {"Contacts": [{"ContactStatus": "ARCHIVED"}]}
    )
    assert archived.json()["Contacts"][0]["ContactStatus"] == "ARCHIVED"
    # Archived contacts don't hold their name, and are hidden unless asked for.
    again = await xero.put("/Contacts", {"Contacts": [{"Name": "Initech GmbH"}]})
    assert again.status_code == 200
    names = [
        c["Name"]
        for c in (await xero.get("/Contacts", params={"includeArchived": "true"})).json()[
            "Contacts"
        ]
    ]
    assert names.count("Initech GmbH") == 2


async def test_contact_default_currency_must_be_enabled(xero):
    answer = await xero.put(
        "/Contacts", {"Contacts": [{"Name": "Pound Shop", "DefaultCurrency": "GBP"}]}
    )
    assert answer.status_code == 400
    assert answer.json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "Organisation is not subscribed to currency GBP"}
    ]


async def test_each_tenant_sees_only_its_own_records(xero):
    xero.tenant = AU
    assert (await xero.get("/Contacts")).json()["Contacts"] == []
    assert (await xero.get("/Invoices")).json()["Invoices"] == []
    xero.tenant = NZ
    acme = await xero.contact_id("Acme Ltd")
    xero.tenant = AU
    assert (await xero.get(f"/Contacts/{acme}")).status_code == 404


async def test_read_only_scopes_cannot_write(http):
    from tests.sandbox.xero.conftest import Xero

    reader = Xero(http)
    code = await reader.code(
        scope="openid offline_access accounting.contacts.read accounting.settings.read"
    )
    reader.tokens = (await reader.exchange(code)).json()
    assert (await reader.get("/Contacts")).status_code == 200
    refused = await reader.put("/Contacts", {"Contacts": [{"Name": "Nope"}]})
    assert refused.status_code == 401
    assert (await reader.get("/Invoices")).status_code == 401


async def test_resource_names_are_case_insensitive(xero, xero_app):
    # Outside the contract recorder: the spec spells paths one way, Xero accepts any case.
    transport = httpx2.ASGITransport(app=xero_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test") as raw:
        answer = await raw.get(
            "/xero/api/api.xro/2.0/invoices", headers=xero.headers(accept="text/xml")
        )
    assert answer.status_code == 200 and answer.text.startswith("<Response")
