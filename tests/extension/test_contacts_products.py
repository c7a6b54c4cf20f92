"""Contacts and products through the extension, for both providers."""

from __future__ import annotations

import pytest

from app.extension import schemas
from tests.extension.helpers import fails, ok, required

PROVIDERS = ["xero", "quickbooks"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_search_and_get_contact(pd, links, provider):
    response = await pd("getSearchContacts", links[provider], params={"name": "acme"})
    found = ok(response, list[schemas.Contact])
    for row in response.json()["data"]:
        required(row, schemas.Contact)
    (acme,) = [c for c in found if c.displayName == "Acme Ltd"]
    assert acme.email == "accounts@acme.test"
    assert acme.url and acme.id in acme.url
    one = ok(await pd("getContact", links[provider], contactId=acme.id), schemas.Contact)
    assert one == acme
    nothing = ok(
        await pd("getSearchContacts", links[provider], params={"name": "zzz-nobody"}),
        list[schemas.Contact],
    )
    assert nothing == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_unknown_contact_is_404(pd, links, provider):
    fails(await pd("getContact", links[provider], contactId="999999"), 404, "999999")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_create_and_update_contact(pd, links, provider):
    body = {
        "displayName": f"Pipedrive Made {provider}",
        "address": "1 Main Street\nLevel 2",
        "city": "Auckland",
        "postalCode": "1010",
        "country": "New Zealand",
        "email": "made@pd.test",
        "phone": "+64 9 555 0101",
        "taxId": "NZ-555",
    }
    made = ok(await pd("postContact", links[provider], json=body), schemas.Contact)
    assert made.id
    assert made.displayName == body["displayName"]
    assert (made.email, made.taxId, made.city, made.postalCode) == (
        "made@pd.test",
        "NZ-555",
        "Auckland",
        "1010",
    )
    assert made.address is not None and "1 Main Street" in made.address
    again = ok(await pd("getContact", links[provider], contactId=made.id), schemas.Contact)
    assert again.displayName == made.displayName and again.email == made.email
    # Retried identical create (Pipedrive sends no key): the same contact, not a second one.
    twice = ok(await pd("postContact", links[provider], json=body), schemas.Contact)
    assert twice.id == made.id
    # The body may also come wrapped in {"data": …}; only the fields sent change.
    changed = ok(
        await pd(
            "putContact",
            links[provider],
            contactId=made.id,
            json={"data": {"email": "new@pd.test", "taxId": "NZ-777"}},
        ),
        schemas.Contact,
    )
    assert (changed.id, changed.email, changed.taxId) == (made.id, "new@pd.test", "NZ-777")
    assert changed.displayName == made.displayName
    found = ok(
        await pd("getSearchContacts", links[provider], params={"name": "Pipedrive Made"}),
        list[schemas.Contact],
    )
    assert made.id in {c.id for c in found}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_contact_input_errors(pd, links, provider):
    fails(await pd("postContact", links[provider], json={"email": "x@y.test"}), 422, "displayName")
    fails(
        await pd("postContact", links[provider], json={"displayName": "x" * 600}),
        422,
        "displayName",
    )
    fails(await pd("putContact", links[provider], contactId="999999", json={"email": "a@b.c"}), 404)


async def test_search_products_by_name_and_code_xero(pd, links):
    link = links["xero"]
    response = await pd(
        "getSearchProducts", link, params={"name": "consulting", "forceCodeSearch": "false"}
    )
    found = ok(response, list[schemas.Product])
    for row in response.json()["data"]:
        required(row, schemas.Product)
    (item,) = found
    assert (item.name, item.code) == ("Consulting hour", "CONS-HR")
    assert item.unitPrice is not None and item.currency == "NZD"
    # Xero codes are unique: forceCodeSearch finds by code whatever the name says.
    by_code = ok(
        await pd(
            "getSearchProducts",
            link,
            params={"name": "Whatever", "code": "CONS-HR", "forceCodeSearch": "true"},
        ),
        list[schemas.Product],
    )
    assert [p.id for p in by_code] == [item.id]
    # Without forceCodeSearch the name leads and the code narrows.
    narrowed = ok(
        await pd(
            "getSearchProducts",
            link,
            params={"name": "Whatever", "code": "CONS-HR", "forceCodeSearch": "false"},
        ),
        list[schemas.Product],
    )
    assert narrowed == []
    one = ok(await pd("getProduct", link, productId=item.id), schemas.Product)
    assert one == item


async def test_search_products_quickbooks(pd, links):
    link = links["quickbooks"]
    found = ok(
        await pd(
            "getSearchProducts", link, params={"name": "consulting", "forceCodeSearch": "true"}
        ),
        list[schemas.Product],
    )
    (item,) = found
    assert (item.id, item.name, item.code) == ("1", "Consulting hour", "CONS-HR")
    # QuickBooks Skus are not unique: forceCodeSearch still searches by name, narrowed by code.
    by_code = ok(
        await pd(
            "getSearchProducts",
            link,
            params={"name": "Consulting", "code": "CONS-HR", "forceCodeSearch": "true"},
        ),
        list[schemas.Product],
    )
    assert [p.id for p in by_code] == ["1"]
    one = ok(await pd("getProduct", link, productId="1"), schemas.Product)
    assert one.name == "Consulting hour"
    fails(await pd("getProduct", link, productId="9999"), 404)


@pytest.mark.parametrize(
    ("provider", "account", "tax"), [("xero", "200", "OUTPUT2"), ("quickbooks", "2", "TAX")]
)
async def test_create_and_update_product(pd, links, provider, account, tax):
    link = links[provider]
    body = {
        "name": "Extension widget",
        "code": "EXT-WID",
        "description": "Made through the extension",
        "unitPrice": 42.5,
        "accountId": account,
        "taxRateId": tax,
    }
    made = ok(await pd("postProduct", link, json=body), schemas.Product)
    assert made.id and made.name == "Extension widget" and made.code == "EXT-WID"
    assert made.description == "Made through the extension"
    assert str(made.unitPrice) in ("42.5", "42.50")
    twice = ok(await pd("postProduct", link, json=body), schemas.Product)
    assert twice.id == made.id
    changed = ok(
        await pd(
            "putProduct", link, productId=made.id, json={"unitPrice": 50, "description": "New"}
        ),
        schemas.Product,
    )
    assert (changed.id, changed.name, changed.description) == (made.id, made.name, "New")
    assert changed.unitPrice == 50
    fetched = ok(await pd("getProduct", link, productId=made.id), schemas.Product)
    assert fetched == changed


@pytest.mark.parametrize(
    ("provider", "name_max", "code_max"), [("xero", 50, 30), ("quickbooks", 100, 100)]
)
async def test_product_max_lengths_are_422_naming_the_field(
    pd, links, provider, name_max, code_max
):
    link = links[provider]
    fails(await pd("postProduct", link, json={"name": "n" * (name_max + 1)}), 422, "name")
    fails(
        await pd("postProduct", link, json={"name": "ok", "code": "c" * (code_max + 1)}),
        422,
        "code",
    )
    fails(
        await pd("postProduct", link, json={"name": "ok", "description": "d" * 4001}),
        422,
        "description",
    )
    fails(await pd("postProduct", link, json={"code": "X"}), 422, "name")
    first = ok(
        await pd(
            "getSearchProducts", link, params={"name": "consulting", "forceCodeSearch": "false"}
        ),
        list[schemas.Product],
    )[0]
    fails(
        await pd("putProduct", link, productId=first.id, json={"name": "n" * (name_max + 1)}),
        422,
        "name",
    )
