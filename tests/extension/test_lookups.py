"""getProviderAccount, the connect URL and the lookups, for both providers, field by field."""

from __future__ import annotations

import pytest

from app.extension import schemas
from tests.extension.helpers import fails, ok, required

XERO_NZ = "b1f3c0de-0000-4000-8000-000000000001"
REALM = "9130350000000001"


async def test_provider_account_xero(pd, links):
    response = await pd("getProviderAccount", links["xero"])
    status = ok(response, schemas.LinkStatus)
    assert status.authorized is True
    assert (status.name, status.orgId) == ("Northwind Traders NZ", XERO_NZ)
    data = response.json()["data"]["features"]
    required(data, schemas.LinkFeatures)
    assert data == {
        "invoiceTaxModeOptions": {"taxExclusive": True, "taxInclusive": True, "noTax": True},
        "invoiceTaxOption": "multiple",
        "invoiceDiscountOptions": {"globalDiscount": False, "lineDiscount": True},
        "invoiceNumberOption": "none",
        "validations": {
            "product": {
                "name": {"maxLength": 50},
                "code": {"maxLength": 30},
                "description": {"maxLength": 4000},
            }
        },
    }


async def test_provider_account_quickbooks(pd, links):
    status = ok(await pd("getProviderAccount", links["quickbooks"]), schemas.LinkStatus)
    assert status.authorized and status.orgId == REALM
    assert status.name == "Northwind Traders US"
    features = status.features
    assert features is not None
    modes = features.invoiceTaxModeOptions
    assert modes.taxExclusive or modes.taxInclusive or modes.noTax
    assert features.invoiceTaxOption == "single"
    assert features.invoiceDiscountOptions.globalDiscount is True
    assert features.invoiceDiscountOptions.lineDiscount is False
    assert features.validations.product.name.maxLength == 100


async def test_connect_url(pd, links, settings):
    for provider, link in links.items():
        url = ok(await pd("getProviderAccountConnectUrl", link), schemas.LinkAuthURL)
        assert url.url == f"{settings.public_url}/connections/{provider}/connect"


async def test_needs_reauth_is_unauthorized_and_calls_say_reconnect(pd, links, sessionmaker):
    from sqlalchemy import update

    from app.connections.models import ProviderConnection

    async with sessionmaker() as session:
        await session.execute(
            update(ProviderConnection)
            .where(ProviderConnection.provider == "xero")
            .values(status="needs_reauth")
        )
        await session.commit()
    status = ok(await pd("getProviderAccount", links["xero"]), schemas.LinkStatus)
    assert status.authorized is False
    error = fails(await pd("getTaxRates", links["xero"]), 409, "reconnect")
    assert "/connections/xero/connect" in error
    # The other provider's link is unaffected.
    assert ok(await pd("getProviderAccount", links["quickbooks"]), schemas.LinkStatus).authorized


async def test_currencies(pd, links):
    xero = ok(await pd("getCurrencies", links["xero"]), list[schemas.InvoiceCurrency])
    assert next(c.id for c in xero) == "NZD"
    assert {c.id for c in xero} == {"NZD", "USD", "EUR"}
    assert all(c.name and c.name != c.id for c in xero)
    qbo = ok(await pd("getCurrencies", links["quickbooks"]), list[schemas.InvoiceCurrency])
    assert {"USD", "EUR"} <= {c.id for c in qbo}
    assert next(c for c in qbo if c.id == "USD").name == "US Dollar"


async def test_tax_rates(pd, links):
    response = await pd("getTaxRates", links["xero"])
    rates = ok(response, list[schemas.InvoiceTaxRate])
    for row in response.json()["data"]:
        required(row, schemas.InvoiceTaxRate)
        assert isinstance(row["rate"], int | float)
    by_id = {r.id: r for r in rates}
    assert by_id["OUTPUT2"].rate == 15 and by_id["OUTPUT2"].name == "15% GST on Income"
    assert "INPUT2" not in by_id  # expenses only: not offered on sales
    qbo = {
        r.id for r in ok(await pd("getTaxRates", links["quickbooks"]), list[schemas.InvoiceTaxRate])
    }
    assert {"TAX", "NON"} <= qbo


async def test_accounts(pd, links):
    xero = ok(await pd("getAccounts", links["xero"]), list[schemas.InvoiceAccount])
    ids = {a.id: a.name for a in xero}
    assert ids["200"] == "Sales" and "400" not in ids
    qbo = ok(await pd("getAccounts", links["quickbooks"]), list[schemas.InvoiceAccount])
    names = {a.name for a in qbo}
    assert "Services" in names and "Advertising" not in names


async def test_templates(pd, links):
    xero = ok(await pd("getTemplates", links["xero"]), list[schemas.InvoiceTemplate])
    assert {t.name for t in xero} == {"Standard", "Special Projects"}
    assert all(t.id for t in xero)
    # QuickBooks has no template API: the manifest's templates feature is served empty.
    assert ok(await pd("getTemplates", links["quickbooks"]), list[schemas.InvoiceTemplate]) == []


@pytest.mark.parametrize("name", ["getCurrencies", "getTaxRates", "getAccounts", "getTemplates"])
async def test_lookups_of_a_disconnected_provider_are_409(
    pd, contoso, flow, client, sessionmaker, name
):
    from tests.extension.conftest import link_of

    await flow.quickbooks(contoso.user)
    link = await link_of(sessionmaker, contoso, "quickbooks")
    await client.delete("/api/v1/connections/quickbooks", headers=contoso.headers)
    fails(await pd(name, link), 409, "not connected")
