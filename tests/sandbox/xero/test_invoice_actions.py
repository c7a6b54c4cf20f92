"""Invoice actions through HTTP: payments (sandbox control), PDF, email, online invoice, XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.sandbox.xero.conftest import API
from tests.sandbox.xero.test_invoices import _one


async def test_payments_make_an_invoice_partly_paid_then_paid(xero, http):
    inv = _one(await xero.create_invoice(Status="AUTHORISED"))
    assert inv["Total"] == 345.0
    partial = await http.post(
        "/_sandbox/xero/payments", json={"InvoiceID": inv["InvoiceID"], "Amount": "100"}
    )
    assert partial.json()["AmountDue"] == "245.00" and partial.json()["Status"] == "AUTHORISED"
    got = _one(await xero.get(f"/Invoices/{inv['InvoiceID']}"))
    assert (got["AmountPaid"], got["AmountDue"], len(got["Payments"])) == (100.0, 245.0, 1)
    over = await http.post(
        "/_sandbox/xero/payments", json={"InvoiceID": inv["InvoiceID"], "Amount": "500"}
    )
    assert over.status_code == 422
    full = await http.post(
        "/_sandbox/xero/payments", json={"InvoiceID": inv["InvoiceID"], "Amount": "245"}
    )
    assert full.json()["Status"] == "PAID" and full.json()["FullyPaidOnDate"]
    got = _one(await xero.get(f"/Invoices/{inv['InvoiceID']}"))
    assert (
        got["Status"] == "PAID"
        and got["AmountDue"] == 0.0
        and got["FullyPaidOnDate"].startswith("/Date(")
    )
    assert (
        await xero.post(f"/Invoices/{inv['InvoiceID']}", {"Status": "VOIDED"})
    ).status_code == 400


async def test_xml_is_the_default_representation(xero):
    inv = _one(await xero.create_invoice())
    answer = await xero.http.get(
        f"{API}/Invoices/{inv['InvoiceID']}", headers=xero.headers(accept="*/*")
    )
    assert answer.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(answer.content)
    assert root.tag == "Response" and root.findtext("Status") == "OK"
    assert root.find("Invoices/Invoice/InvoiceNumber").text == inv["InvoiceNumber"]
    assert root.find("Invoices/Invoice/LineItems/LineItem/LineAmount").text == "300.00"
    error = await xero.http.put(
        f"{API}/Invoices",
        json={"Invoices": [{"Type": "ACCREC"}]},
        headers=xero.headers(accept="application/xml"),
    )
    assert error.status_code == 400 and ET.fromstring(error.content).tag == "ApiException"


async def test_pdf_is_a_real_pdf(xero):
    inv = _one(await xero.create_invoice())
    answer = await xero.get(f"/Invoices/{inv['InvoiceID']}", headers={"accept": "application/pdf"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-") and answer.content.rstrip().endswith(b"%%EOF")
    assert len(answer.content) > 1000


async def test_email_only_for_submitted_authorised_or_paid_and_recorded_in_the_outbox(xero, http):
    draft = _one(await xero.create_invoice())
    refused = await xero.post(f"/Invoices/{draft['InvoiceID']}/Email", {})
    assert refused.status_code == 400 and refused.json()["Type"] == "ValidationException"
    sent = _one(await xero.create_invoice(Status="AUTHORISED"))
    answer = await xero.post(f"/Invoices/{sent['InvoiceID']}/Email", {})
    assert answer.status_code == 204 and answer.content == b""
    outbox = (await http.get("/_sandbox/xero/outbox")).json()
    assert [(m["InvoiceID"], m["to"], m["from"]) for m in outbox] == [
        (sent["InvoiceID"], ["accounts@acme.test"], "nora@northwind.test")
    ]
    assert _one(await xero.get(f"/Invoices/{sent['InvoiceID']}"))["SentToContact"] is True


async def test_online_invoice_link_opens_a_page(xero, http):
    draft = _one(await xero.create_invoice())
    assert (await xero.get(f"/Invoices/{draft['InvoiceID']}/OnlineInvoice")).status_code == 400
    inv = _one(await xero.create_invoice(Status="AUTHORISED"))
    answer = await xero.get(f"/Invoices/{inv['InvoiceID']}/OnlineInvoice")
    url = answer.json()["OnlineInvoices"][0]["OnlineInvoiceUrl"]
    page = await http.get(url)
    assert page.status_code == 200 and inv["InvoiceNumber"] in page.text and "345.00" in page.text


async def test_xml_request_bodies_are_read_like_json(xero, xero_app):
    import httpx2

    acme = await xero.contact_id("Acme Ltd")
    body = (
        "<Invoices><Invoice><Type>ACCREC</Type><Contact><ContactID>"
        + acme
        + "</ContactID></Contact>"
        "<Date>2026-03-13</Date><DueDate>2026-03-20</DueDate><Status>AUTHORISED</Status>"
        "<LineItems><LineItem><Description>XML line</Description><Quantity>2</Quantity>"
        "<UnitAmount>150</UnitAmount><AccountCode>200</AccountCode><TaxType>OUTPUT2</TaxType>"
        "</LineItem></LineItems></Invoice></Invoices>"
    )
    # Outside the contract recorder, which validates JSON bodies.
    transport = httpx2.ASGITransport(app=xero_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test") as raw:
        answer = await raw.put(
            f"{API}/Invoices",
            content=body,
            headers=xero.headers(**{"content-type": "application/xml", "accept": "text/xml"}),
        )
        assert answer.status_code == 200, answer.text
        root = ET.fromstring(answer.content)
        assert root.findtext("Invoices/Invoice/Total") == "345.00"
        assert root.findtext("Invoices/Invoice/Status") == "AUTHORISED"
        broken = await raw.put(
            f"{API}/Invoices",
            content="<Invoices><oops>",
            headers=xero.headers(**{"content-type": "application/xml"}),
        )
        assert broken.status_code == 400
