"""The manifest, and the two answers every endpoint shares: bad auth → 401, unknown link → 404."""

from __future__ import annotations

import base64
import uuid

from app.extension.manifest import ENDPOINTS
from tests.extension.conftest import basic
from tests.extension.helpers import fails

REQUIRED = {
    "getProviderAccount", "getProviderAccountConnectUrl", "postInvoice", "postInvoiceStatus",
    "getSearchInvoices", "getInvoiceShareUrl", "getInvoicePDF", "getInvoiceSummary",
    "getCurrencies", "getTaxRates", "getAccounts", "getTemplates", "getProduct", "postProduct",
    "putProduct", "getSearchProducts", "getContact", "postContact", "putContact",
    "getSearchContacts",
}  # fmt: skip
PLACEHOLDERS = {
    "postInvoiceStatus": "invoiceId",
    "postInvoiceEmail": "invoiceId",
    "getInvoiceShareUrl": "invoiceId",
    "getInvoicePDF": "invoiceId",
    "getProduct": "productId",
    "putProduct": "productId",
    "getContact": "contactId",
    "putContact": "contactId",
}
IDS = {"invoiceId": "inv-1", "contactId": "c-1", "productId": "p-1"}


def ids_for(name: str) -> dict[str, str]:
    key = PLACEHOLDERS.get(name)
    return {key: IDS[key]} if key else {}


async def test_manifest_shape(client, settings):
    response = await client.get("/pipedrive/invoicing/manifest.json")
    assert response.status_code == 200
    manifest = response.json()
    assert manifest["version"] == "v202101"
    assert manifest["clientId"] == settings.pipedrive.client_id != ""
    assert manifest["features"] == {"templates": True}
    endpoints = manifest["endpoints"]
    assert set(endpoints) == REQUIRED | {"postInvoiceEmail"}
    assert len(endpoints) == 21
    for name, url in endpoints.items():
        assert url.startswith(settings.public_url.rstrip("/") + "/pipedrive/invoicing/"), url
        assert ":linkId" in url, name
        if name in PLACEHOLDERS:
            assert f":{PLACEHOLDERS[name]}" in url, name
    # Paths repeat across methods: method + path pairs are unique.
    pairs = {(ENDPOINTS[n][0], u) for n, u in endpoints.items()}
    assert len(pairs) == 21


async def test_bad_auth_is_401_on_every_endpoint(pd, links, settings):
    link = links["xero"]
    wrong_secret = basic(settings, secret="not-the-secret")
    wrong_client = {
        "Authorization": "Basic "
        + base64.b64encode(f"other:{settings.pipedrive.client_secret}".encode()).decode()
    }
    bearer = {"Authorization": f"Bearer {settings.pipedrive.client_secret}"}
    garbage = {"Authorization": "Basic !!!not-base64"}
    for name in ENDPOINTS:
        for headers in ({}, wrong_secret, wrong_client, bearer, garbage):
            response = await pd(name, link, headers=headers, **ids_for(name))
            fails(response, 401)


async def test_unknown_link_is_404_on_every_endpoint(pd, links):
    for name in ENDPOINTS:
        for link in (str(uuid.uuid4()), "not-a-uuid", links["xero"].upper() + "0"):
            response = await pd(name, link, **ids_for(name), json={})
            fails(response, 404, "link")


async def test_unknown_path_and_method_answer_the_envelope(client, links, settings):
    response = await client.get(
        f"/pipedrive/invoicing/links/{links['xero']}/nothing", headers=basic(settings)
    )
    fails(response, 404)
    response = await client.delete(
        f"/pipedrive/invoicing/links/{links['xero']}/invoices", headers=basic(settings)
    )
    fails(response, 404)


async def test_malformed_body_is_422_in_the_envelope(pd, links):
    response = await pd("postContact", links["xero"], content=b"{not json")
    fails(response, 422, "JSON")
    response = await pd("postInvoice", links["xero"], json=["a list"])
    fails(response, 422)
    response = await pd("postInvoice", links["xero"], json={"contactName": "x"})
    fails(response, 422)
