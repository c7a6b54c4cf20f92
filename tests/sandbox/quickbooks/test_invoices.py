"""Invoice rules through HTTP: numbering, totals, tax, discounts, updates, void, delete, send."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.sandbox.quickbooks.conftest import Qbo, fault, invoice_body


async def create(api: Qbo, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/invoice", invoice_body(**overrides), minorversion="75")
    assert response.status_code == 200, response.text
    invoice: dict[str, Any] = response.json()["Invoice"]
    return invoice


async def test_create_assigns_next_doc_number_and_computes_totals(api: Qbo) -> None:
    first = await create(api)
    second = await create(api)
    # The demo seed holds 1001-1004.
    assert (first["DocNumber"], second["DocNumber"]) == ("1005", "1006")
    assert first["SyncToken"] == "0" and first["domain"] == "QBO"
    assert first["TxnTaxDetail"]["TotalTax"] == 24.75  # 300 x 8.25 %
    assert first["TotalAmt"] == 324.75 and first["Balance"] == 324.75
    kinds = [line["DetailType"] for line in first["Line"]]
    assert kinds == ["SalesItemLineDetail", "SubTotalLineDetail"]
    assert first["Line"][1]["Amount"] == 300
    assert first["Line"][0]["SalesItemLineDetail"]["ItemRef"]["name"] == "Consulting hour"
    assert first["DueDate"] > first["TxnDate"]  # Net 30, the company's default terms
    assert first["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}


async def test_read_returns_the_invoice_with_subtotal(api: Qbo) -> None:
    created = await create(api)
    response = await api.get(f"/invoice/{created['Id']}")
    assert response.status_code == 200
    assert response.json()["Invoice"]["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert "time" in response.json()


async def test_minorversion_below_75_is_served(api: Qbo) -> None:
    response = await api.get("/invoice/1", minorversion="4")
    assert response.status_code == 200


async def test_custom_doc_number_and_duplicate_is_6140(api: Qbo) -> None:
    await create(api, DocNumber="PD-1001")
    response = await api.post("/invoice", invoice_body(DocNumber="PD-1001"))
    assert response.status_code == 400
    assert fault(response)["code"] == "6140"


async def test_custom_txn_numbers_leaves_doc_number_empty(api: Qbo) -> None:
    await api.http.post("/_sandbox/quickbooks/preferences", json={"CustomTxnNumbers": True})
    assert "DocNumber" not in await create(api)
    assert (await create(api, DocNumber="AUTO_GENERATE"))["DocNumber"] == "1005"


async def test_amount_must_equal_qty_times_unit_price(api: Qbo) -> None:
    body = invoice_body()
    body["Line"][0]["Amount"] = 299
    response = await api.post("/invoice", body)
    assert response.status_code == 400
    assert fault(response)["code"] == "6070"


async def test_percent_and_amount_discounts(api: Qbo) -> None:
    body = invoice_body()
    body["Line"].append(
        {
            "Amount": 0,
            "DetailType": "DiscountLineDetail",
            "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
        }
    )
    percent = (await api.post("/invoice", body)).json()["Invoice"]
    assert percent["Line"][-1]["Amount"] == 30
    assert percent["TotalAmt"] == 294.75  # 300 - 30 + 24.75 (tax before discount)
    body["ApplyTaxAfterDiscount"] = True
    body["Line"][-1] = {
        "Amount": 100,
        "DetailType": "DiscountLineDetail",
        "DiscountLineDetail": {"PercentBased": False},
    }
    amount = (await api.post("/invoice", body)).json()["Invoice"]
    assert amount["TxnTaxDetail"]["TotalTax"] == 16.5  # 200 x 8.25 %
    assert amount["TotalAmt"] == 216.5
    body["Line"][-1] = {"DetailType": "DiscountLineDetail", "DiscountLineDetail": {}}
    missing = await api.post("/invoice", body)
    assert fault(missing)["code"] == "6090"


async def test_non_us_tax_code_is_6100(api: Qbo) -> None:
    body = invoice_body()
    body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "GST"}
    assert fault(await api.post("/invoice", body))["code"] == "6100"


async def test_missing_customer_ref_and_unknown_item(api: Qbo) -> None:
    body = invoice_body()
    del body["CustomerRef"]
    missing = await api.post("/invoice", body)
    assert missing.status_code == 400 and fault(missing)["code"] == "2020"
    assert "CustomerRef" in fault(missing)["Detail"]
    body = invoice_body()
    body["Line"][0]["SalesItemLineDetail"]["ItemRef"] = {"value": "999"}
    assert fault(await api.post("/invoice", body))["code"] == "2500"


async def test_invoice_currency_must_match_customer(api: Qbo) -> None:
    response = await api.post("/invoice", invoice_body(CurrencyRef={"value": "EUR"}))
    assert response.status_code == 400
    assert fault(response)["type"] == "ValidationFault"
    assert "customer's currency" in fault(response)["Detail"]
    # Initech is a EUR customer: EUR works and carries an exchange rate.
    euro = await create(api, CustomerRef={"value": "2"})
    assert euro["CurrencyRef"]["value"] == "EUR" and euro["ExchangeRate"] == 1.08
    assert euro["HomeTotalAmt"] == round(euro["TotalAmt"] * 1.08, 2)


async def test_foreign_currency_refused_when_multicurrency_is_off(api: Qbo) -> None:
    await api.http.post("/_sandbox/quickbooks/preferences", json={"MultiCurrencyEnabled": False})
    prefs = (await api.get("/preferences")).json()["Preferences"]
    assert prefs["CurrencyPrefs"]["MultiCurrencyEnabled"] is False
    response = await api.post("/invoice", invoice_body(CustomerRef={"value": "2"}))
    assert response.status_code == 400
    assert "Multicurrency is not enabled" in fault(response)["Detail"]


async def test_sparse_update_and_stale_sync_token(api: Qbo) -> None:
    invoice = await create(api, PrivateNote="first")
    body = {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "CustomerMemo": {"value": "Hi"}}
    updated = (await api.post("/invoice", body)).json()["Invoice"]
    assert updated["SyncToken"] == "1"
    assert updated["PrivateNote"] == "first" and updated["CustomerMemo"] == {"value": "Hi"}
    stale = await api.post("/invoice", body)
    assert stale.status_code == 400
    assert fault(stale)["code"] == "5010" and fault(stale)["Message"] == "Stale Object Error"


async def test_sparse_update_with_lines_replaces_them(api: Qbo) -> None:
    invoice = await create(api)
    lines = invoice["Line"] + [
        {
            "Amount": 99,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "4"}, "Qty": 1, "UnitPrice": 99},
        }
    ]
    body = {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "Line": lines}
    updated = (await api.post("/invoice", body)).json()["Invoice"]
    assert [ln["DetailType"] for ln in updated["Line"]].count("SubTotalLineDetail") == 1
    assert updated["TotalAmt"] == 423.75  # 399 + 24.75 (the new line is not taxable)


async def test_full_update_nulls_omitted_fields(api: Qbo) -> None:
    invoice = await create(api, PrivateNote="memo", BillEmail={"Address": "a@b.test"})
    full = invoice_body(Id=invoice["Id"], SyncToken="0")
    updated = (await api.post("/invoice", full)).json()["Invoice"]
    assert "PrivateNote" not in updated and "BillEmail" not in updated
    assert updated["DocNumber"] == invoice["DocNumber"]


async def test_void_zeroes_amounts_and_notes_voided(api: Qbo) -> None:
    invoice = await create(api, PrivateNote="deal 31")
    missing = await api.post("/invoice", {"Id": invoice["Id"]}, operation="void")
    assert fault(missing)["code"] == "2020" and "SyncToken" in fault(missing)["Detail"]
    voided = (
        await api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")
    ).json()["Invoice"]
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0
    assert voided["TxnTaxDetail"]["TotalTax"] == 0
    assert voided["PrivateNote"].startswith("Voided")
    assert voided["SyncToken"] == "1" and voided["DocNumber"] == invoice["DocNumber"]
    assert all(ln["Amount"] == 0 for ln in voided["Line"])


async def test_delete_then_read_is_610(api: Qbo) -> None:
    invoice = await create(api)
    deleted = await api.post(
        "/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete"
    )
    assert deleted.json()["Invoice"] == {"Id": invoice["Id"], "status": "Deleted", "domain": "QBO"}
    read = await api.get(f"/invoice/{invoice['Id']}")
    assert read.status_code == 400 and fault(read)["code"] == "610"


async def test_send_sets_email_status_and_fills_the_outbox(api: Qbo) -> None:
    invoice = await create(api)
    nowhere = await api.http.post(
        f"/quickbooks/api/v3/company/9130350000000001/invoice/{invoice['Id']}/send",
        headers=api.auth(),
    )
    assert nowhere.status_code == 400  # neither sendTo nor BillEmail
    response = await api.http.post(
        f"/quickbooks/api/v3/company/9130350000000001/invoice/{invoice['Id']}/send",
        params={"sendTo": "ap@globex.test"},
        headers={**api.auth(), "Content-Type": "application/octet-stream"},
    )
    sent = response.json()["Invoice"]
    assert sent["EmailStatus"] == "EmailSent"
    assert sent["DeliveryInfo"]["DeliveryType"] == "Email"
    outbox = (await api.http.get("/_sandbox/quickbooks/outbox")).json()
    assert outbox[-1]["to"] == "ap@globex.test" and outbox[-1]["invoice_id"] == invoice["Id"]


async def test_pdf_is_a_real_pdf(api: Qbo) -> None:
    response = await api.get("/invoice/1/pdf")
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and b"%%EOF" in response.content[-16:]


async def test_invoice_link_needs_online_payment_and_bill_email(api: Qbo) -> None:
    plain = await create(api)
    read = (await api.get(f"/invoice/{plain['Id']}", include="invoiceLink")).json()["Invoice"]
    assert "InvoiceLink" not in read
    payable = await create(
        api, AllowOnlineCreditCardPayment=True, BillEmail={"Address": "ap@globex.test"}
    )
    read = (await api.get(f"/invoice/{payable['Id']}", include="invoiceLink")).json()["Invoice"]
    page = await api.http.get(read["InvoiceLink"].removeprefix("http://sandbox.test"))
    assert page.status_code == 200 and payable["DocNumber"] in page.text


async def test_requestid_replays_the_original_response(api: Qbo) -> None:
    first = await api.post("/invoice", invoice_body(), requestid="req-1")
    again = await api.post("/invoice", invoice_body(), requestid="req-1")
    assert again.json() == first.json()
    count = (await api.query("SELECT count(*) FROM Invoice")).json()
    assert count["QueryResponse"]["totalCount"] == 5
    bad = invoice_body()
    bad["Line"][0]["Amount"] = 1
    failed = await api.post("/invoice", bad, requestid="req-2")
    replayed = await api.post("/invoice", invoice_body(), requestid="req-2")
    assert replayed.status_code == failed.status_code == 400
    assert replayed.json() == failed.json()


async def test_payments_reduce_balance_and_bump_sync_token(api: Qbo) -> None:
    invoice = await create(api)
    response = await api.http.post(
        "/_sandbox/quickbooks/payments", json={"invoice_id": invoice["Id"], "amount": "100"}
    )
    assert response.status_code == 200
    paid = (await api.get(f"/invoice/{invoice['Id']}")).json()["Invoice"]
    assert paid["Balance"] == 224.75 and paid["SyncToken"] == "1"
    payment_id = response.json()["Payment"]["Id"]
    assert paid["LinkedTxn"] == [{"TxnId": payment_id, "TxnType": "Payment"}]
    payment = (await api.get(f"/payment/{payment_id}")).json()["Payment"]
    assert payment["TotalAmt"] == 100
    too_much = await api.http.post(
        "/_sandbox/quickbooks/payments", json={"invoice_id": invoice["Id"], "amount": "1000"}
    )
    assert too_much.status_code == 400
    stale = await api.post(
        "/invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"}
    )
    assert fault(stale)["code"] == "5010"


async def test_commit_then_fail_then_retry_with_requestid_creates_once(api: Qbo) -> None:
    await api.http.post(
        "/_sandbox/faults",
        json={"kind": "commit_then_fail", "path": "/invoice$", "method": "POST", "count": 1},
    )
    # Over a socket the client sees a protocol error; in-process the abort surfaces as is.
    with pytest.raises((httpx2.HTTPError, ConnectionAbortedError)):
        await api.post("/invoice", invoice_body(DocNumber="ONCE-1"), requestid="once")
    retried = await api.post("/invoice", invoice_body(DocNumber="ONCE-1"), requestid="once")
    assert retried.status_code == 200 and retried.json()["Invoice"]["DocNumber"] == "ONCE-1"
    hits = (await api.query("SELECT count(*) FROM Invoice WHERE DocNumber = 'ONCE-1'")).json()
    assert hits["QueryResponse"]["totalCount"] == 1


async def test_seeding_twice_keeps_the_demo_company(api: Qbo) -> None:
    await api.http.post("/_sandbox/seed", params={"name": "demo"})
    count = (await api.query("SELECT count(*) FROM Customer")).json()
    assert count["QueryResponse"]["totalCount"] == 3
