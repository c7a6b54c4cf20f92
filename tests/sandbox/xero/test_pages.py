"""Read-only pages: deep-link landing on an invoice, an organisation's invoice list."""

from __future__ import annotations

from urllib.parse import quote

from tests.sandbox.xero.conftest import AU

DEEP = "/xero/go/organisationlogin/default.aspx"


async def test_deep_link_lands_on_the_invoice(xero, http):
    inv = (await xero.create_invoice(Reference="Deal 31")).json()["Invoices"][0]
    # The official example leaves redirecturl unencoded, its own `?` included.
    page = await http.get(
        f"{DEEP}?shortcode=!NwT01&redirecturl=/AccountsReceivable/View.aspx?InvoiceID={inv['InvoiceID']}"
    )
    assert page.status_code == 200
    assert inv["InvoiceNumber"] in page.text and "Deal 31" in page.text
    assert "Acme Ltd" in page.text and "345.00" in page.text and "Draft" in page.text
    encoded = await http.get(
        DEEP,
        params={
            "shortcode": "!NwT01",
            "redirecturl": f"/AccountsReceivable/View.aspx?InvoiceID={inv['InvoiceID']}",
        },
    )
    assert encoded.status_code == 200 and inv["InvoiceNumber"] in encoded.text


async def test_organisation_invoice_list_shows_status_and_totals(http):
    page = await http.get(f"{DEEP}?shortcode={quote('!NwT01')}")
    assert page.status_code == 200
    for number, label in (
        ("INV-0001", "Draft"),
        ("INV-0002", "Awaiting payment"),
        ("INV-0003", "Paid"),
        ("INV-0004", "Voided"),
    ):
        assert number in page.text and label in page.text
    assert "2875.00" in page.text  # INV-0002: 2500 + 15 % GST


async def test_unknown_shortcode_or_invoice_is_404(http, xero):
    assert (await http.get(f"{DEEP}?shortcode=!nope")).status_code == 404
    xero.tenant = AU
    missing = await http.get(
        f"{DEEP}?shortcode=!NwD02&redirecturl=/AccountsReceivable/View.aspx?InvoiceID=00000000-0000-0000-0000-000000000000"
    )
    assert missing.status_code == 404
