"""Invoices through HTTP: totals, validation, statuses, listing, idempotency, PDF, email."""

from __future__ import annotations

import re

from tests.sandbox.xero.conftest import NZ


def _one(answer):
    assert answer.status_code == 200, answer.text
    invoices = answer.json()["Invoices"]
    assert len(invoices) == 1
    assert not invoices[0].get("HasErrors"), invoices[0].get("ValidationErrors")
    return invoices[0]


async def test_envelope_and_ms_json_dates(xero):
    answer = await xero.create_invoice()
    body = answer.json()
    assert body["Status"] == "OK" and body["ProviderName"] and body["Id"]
    assert re.fullmatch(r"/Date\(\d+\)/", body["DateTimeUTC"])
    inv = body["Invoices"][0]
    assert inv["Date"] == "/Date(1773360000000+0000)/"  # 2026-03-13
    assert inv["DateString"] == "2026-03-13T00:00:00"
    assert inv["DueDateString"] == "2026-03-20T00:00:00"
    assert re.fullmatch(r"/Date\(\d+\+0000\)/", inv["UpdatedDateUTC"])


async def test_invoice_numbers_follow_the_seeded_ones(xero):
    first = _one(await xero.create_invoice())
    second = _one(await xero.create_invoice())
    assert (first["InvoiceNumber"], second["InvoiceNumber"]) == ("INV-0005", "INV-0006")
    duplicate = await xero.create_invoice(InvoiceNumber="INV-0005")
    assert duplicate.json()["Invoices"][0]["ValidationErrors"] == [
        {"Message": "Invoice # must be unique."}
    ]


async def test_tax_is_rounded_per_line_then_summed(xero):
    lines = [
        {
            "Description": f"L{i}",
            "Quantity": 1,
            "UnitAmount": amount,
            "AccountCode": "200",
            "TaxType": "OUTPUT2",
        }
        for i, amount in enumerate((25.06, 25.61, 25.63))
    ]
    inv = _one(await xero.create_invoice(LineItems=lines))
    # xero.md section 13: 11.44 in Xero against 11.45 at document level.
    assert inv["TotalTax"] == 11.44
    assert inv["SubTotal"] == 76.30 and inv["Total"] == 87.74
    assert [ln["TaxAmount"] for ln in inv["LineItems"]] == [3.76, 3.84, 3.84]


async def test_discounts_rate_and_amount(xero):
    lines = [
        {
            "Description": "Rate",
            "Quantity": 10,
            "UnitAmount": 150,
            "DiscountRate": 10,
            "AccountCode": "200",
            "TaxType": "OUTPUT2",
        },
        {
            "Description": "Amount",
            "Quantity": 1,
            "UnitAmount": 2500,
            "DiscountAmount": 200,
            "AccountCode": "200",
            "TaxType": "OUTPUT2",
        },
    ]
    inv = _one(await xero.create_invoice(LineItems=lines))
    assert [ln["LineAmount"] for ln in inv["LineItems"]] == [1350.00, 2300.00]
    assert inv["TotalDiscount"] == 350.00 and inv["IsDiscounted"] is True
    assert inv["SubTotal"] == 3650.00 and inv["TotalTax"] == 547.50 and inv["Total"] == 4197.50
    too_much = await xero.create_invoice(LineItems=[{**lines[1], "DiscountAmount": 3000}])
    assert too_much.json()["Invoices"][0]["ValidationErrors"] == [
        {"Message": "Discount must not be greater than the line total."}
    ]


async def test_inclusive_and_no_tax_line_amount_types(xero):
    line = {
        "Description": "Licence",
        "Quantity": 1,
        "UnitAmount": 115,
        "AccountCode": "200",
        "TaxType": "OUTPUT2",
    }
    inclusive = _one(await xero.create_invoice(LineAmountTypes="Inclusive", LineItems=[line]))
    assert (inclusive["SubTotal"], inclusive["TotalTax"], inclusive["Total"]) == (
        100.0,
        15.0,
        115.0,
    )
    no_tax = _one(await xero.create_invoice(LineAmountTypes="NoTax", LineItems=[line]))
    assert (no_tax["SubTotal"], no_tax["TotalTax"], no_tax["Total"]) == (115.0, 0.0, 115.0)
    default = _one(await xero.create_invoice(LineItems=[line]))
    assert default["LineAmountTypes"] == "Exclusive" and default["Total"] == 132.25


async def test_unitdp_four_keeps_four_decimals(xero):
    line = {
        "Description": "Precise",
        "Quantity": 3,
        "UnitAmount": 10.1234,
        "AccountCode": "200",
        "TaxType": "NONE",
    }
    four = _one(
        await xero.put(
            "/Invoices",
            {"Invoices": [{**(await _base(xero)), "LineItems": [line]}]},
            params={"unitdp": "4", "summarizeErrors": "false"},
        )
    )
    assert (
        four["LineItems"][0]["UnitAmount"] == 10.1234
        and four["LineItems"][0]["LineAmount"] == 30.37
    )
    two = _one(await xero.create_invoice(LineItems=[line]))
    assert two["LineItems"][0]["UnitAmount"] == 10.12 and two["LineItems"][0]["LineAmount"] == 30.36


async def _base(xero):
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": await xero.contact_id("Acme Ltd")},
        "Date": "2026-03-13",
        "DueDate": "2026-03-20",
    }


async def test_authorised_needs_a_due_date(xero):
    answer = await xero.create_invoice(Status="AUTHORISED", DueDate=None)
    assert answer.json()["Invoices"][0]["ValidationErrors"] == [
        {"Message": "The document DueDate field must be specified."}
    ]
    assert _one(await xero.create_invoice(Status="DRAFT", DueDate=None))["Status"] == "DRAFT"


async def test_currency_must_be_enabled_in_the_organisation(xero):
    answer = await xero.create_invoice(CurrencyCode="GBP")
    assert answer.json()["Invoices"][0]["ValidationErrors"] == [
        {"Message": "Organisation is not subscribed to currency GBP"}
    ]
    usd = _one(await xero.create_invoice(CurrencyCode="USD"))
    assert usd["CurrencyCode"] == "USD" and usd["CurrencyRate"] == 0.59


async def test_summarize_errors_omitted_answers_400_but_keeps_the_valid_ones(xero):
    good = {
        **(await _base(xero)),
        "Reference": "good-one",
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}],
    }
    bad = {**good, "Reference": "bad-one", "CurrencyCode": "GBP"}
    answer = await xero.put("/Invoices", {"Invoices": [good, bad]})
    assert answer.status_code == 400
    body = answer.json()
    assert body["Type"] == "ValidationException" and body["ErrorNumber"] == 10
    assert [e["Reference"] for e in body["Elements"]] == ["bad-one"]
    listed = (await xero.get("/Invoices", params={"where": 'Reference=="good-one"'})).json()[
        "Invoices"
    ]
    assert len(listed) == 1  # the documented gotcha: the valid one was created anyway


async def test_summarize_errors_false_answers_200_with_each_element_flagged(xero):
    good = {
        **(await _base(xero)),
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10}],
    }
    bad = {**good, "Contact": {}}
    answer = await xero.put(
        "/Invoices", {"Invoices": [good, bad]}, params={"summarizeErrors": "false"}
    )
    assert answer.status_code == 200
    first, second = answer.json()["Invoices"]
    assert first["StatusAttributeString"] == "OK" and first["InvoiceID"]
    assert second["HasErrors"] is True and second["StatusAttributeString"] == "ERROR"
    assert "at least 1 of the following elements" in second["ValidationErrors"][0]["Message"]


async def test_contact_by_name_is_matched_or_auto_created(xero):
    matched = _one(await xero.create_invoice(Contact={"Name": "Soylent Corp"}))
    assert matched["Contact"]["ContactID"] == await xero.contact_id("Soylent Corp")
    created = _one(await xero.create_invoice(Contact={"Name": "Brand New Ltd"}))
    assert created["Contact"]["ContactID"] == await xero.contact_id("Brand New Ltd")


async def test_item_code_fills_the_line_from_sales_details(xero):
    inv = _one(await xero.create_invoice(LineItems=[{"ItemCode": "CONS-HR", "Quantity": 2}]))
    line = inv["LineItems"][0]
    assert (line["Description"], line["UnitAmount"], line["AccountCode"], line["TaxType"]) == (
        "Consulting hour",
        150.0,
        "200",
        "OUTPUT2",
    )
    assert line["Item"]["Code"] == "CONS-HR"
    unknown = await xero.create_invoice(LineItems=[{"ItemCode": "HW-KIT", "Quantity": 1}])
    assert unknown.json()["Invoices"][0]["HasErrors"] is True


async def test_expense_tax_type_cannot_be_used_on_a_sales_line(xero):
    line = {
        "Description": "x",
        "Quantity": 1,
        "UnitAmount": 10,
        "AccountCode": "200",
        "TaxType": "INPUT2",
    }
    answer = await xero.create_invoice(LineItems=[line])
    assert answer.json()["Invoices"][0]["ValidationErrors"] == [
        {"Message": "The TaxType code 'INPUT2' cannot be used with account code '200'."}
    ]


async def test_total_must_equal_the_sum_of_the_lines(xero):
    body = {
        **(await _base(xero)),
        "Total": 1,
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10}],
    }
    answer = await xero.put("/Invoices", {"Invoices": [body]})
    assert answer.status_code == 400
    assert answer.json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "The invoice total does not equal the sum of the lines."}
    ]


async def test_idempotency_key_replays_the_first_response(xero, sandbox_state):
    before = len(sandbox_state.store.all("xero:invoice", scope=NZ))
    headers = {"Idempotency-Key": "deal-31-attempt-1"}
    body = {
        "Invoices": [
            {
                **(await _base(xero)),
                "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10}],
            }
        ]
    }
    first = await xero.put("/Invoices", body, headers=headers, params={"summarizeErrors": "false"})
    second = await xero.put("/Invoices", body, headers=headers, params={"summarizeErrors": "false"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(sandbox_state.store.all("xero:invoice", scope=NZ)) == before + 1
    other = await xero.put("/Invoices", body, headers={"Idempotency-Key": "deal-31-attempt-2"})
    assert other.json()["Invoices"][0]["InvoiceID"] != first.json()["Invoices"][0]["InvoiceID"]
    too_long = await xero.put("/Invoices", body, headers={"Idempotency-Key": "k" * 129})
    assert too_long.status_code == 400


async def test_status_transitions_follow_the_documented_table(xero):
    inv = _one(await xero.create_invoice())
    path = f"/Invoices/{inv['InvoiceID']}"
    assert _one(await xero.post(path, {"Status": "SUBMITTED"}))["Status"] == "SUBMITTED"
    assert _one(await xero.post(path, {"Status": "DRAFT"}))["Status"] == "DRAFT"
    assert _one(await xero.post(path, {"Status": "AUTHORISED"}))["Status"] == "AUTHORISED"
    for refused in ("DRAFT", "SUBMITTED", "DELETED", "PAID"):
        answer = await xero.post(path, {"Status": refused})
        assert answer.status_code == 400
        assert answer.json()["Elements"][0]["ValidationErrors"] == [
            {"Message": "Invoice not of valid status for modification"}
        ]
    assert _one(await xero.post(path, {"Status": "VOIDED"}))["Status"] == "VOIDED"
    assert (await xero.post(path, {"Status": "AUTHORISED"})).status_code == 400
    draft = _one(await xero.create_invoice())
    assert (
        _one(await xero.post(f"/Invoices/{draft['InvoiceID']}", {"Status": "DELETED"}))["Status"]
        == "DELETED"
    )
    paid_on_create = await xero.create_invoice(Status="PAID")
    assert paid_on_create.json()["Invoices"][0]["HasErrors"] is True


async def test_authorised_invoice_can_be_edited_until_a_payment_is_allocated(xero, http):
    inv = _one(await xero.create_invoice(Status="AUTHORISED"))
    path = f"/Invoices/{inv['InvoiceID']}"
    edited = _one(await xero.post(path, {"Reference": "PO-7"}))
    assert edited["Reference"] == "PO-7"
    paid = await http.post(
        "/_sandbox/xero/payments", json={"InvoiceID": inv["InvoiceID"], "Amount": "10.00"}
    )
    assert paid.status_code == 200
    answer = await xero.post(path, {"Reference": "PO-8"})
    assert answer.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "This document cannot be edited as it has a payment or credit note allocated to it."
    )
    void = await xero.post(path, {"Status": "VOIDED"})
    assert void.status_code == 400


async def test_list_filters_and_paging(xero):
    created = [_one(await xero.create_invoice()) for _ in range(3)]
    ids = ",".join(i["InvoiceID"] for i in created[:2])
    by_id = (await xero.get("/Invoices", params={"IDs": ids})).json()
    assert {i["InvoiceID"] for i in by_id["Invoices"]} == {i["InvoiceID"] for i in created[:2]}
    assert "pagination" not in by_id and "LineItems" not in by_id["Invoices"][0]
    statuses = (await xero.get("/Invoices", params={"Statuses": "PAID,VOIDED"})).json()["Invoices"]
    assert sorted(i["Status"] for i in statuses) == ["PAID", "VOIDED"]
    acme = await xero.contact_id("Acme Ltd")
    by_contact = (await xero.get("/Invoices", params={"ContactIDs": acme})).json()["Invoices"]
    assert len(by_contact) == 7
    page = (await xero.get("/Invoices", params={"page": "2", "pageSize": "3"})).json()
    assert page["pagination"] == {"page": 2, "pageSize": 3, "pageCount": 3, "itemCount": 7}
    assert len(page["Invoices"]) == 3 and page["Invoices"][0]["LineItems"]
    where = (
        await xero.get(
            "/Invoices",
            params={"where": 'Status=="DRAFT" AND Contact.ContactID==Guid("' + acme + '")'},
        )
    ).json()
    assert {i["Status"] for i in where["Invoices"]} == {"DRAFT"} and len(where["Invoices"]) == 4


async def test_if_modified_since_returns_only_later_changes(xero):
    await xero.advance(600)
    cutoff = (await xero.http.get("/_sandbox/clock")).json()["now"]
    await xero.advance(5)
    fresh = _one(await xero.create_invoice())
    listed = (await xero.get("/Invoices", headers={"If-Modified-Since": cutoff})).json()["Invoices"]
    assert [i["InvoiceID"] for i in listed] == [fresh["InvoiceID"]]


async def test_get_one_by_id_or_number_and_unknown_is_404(xero):
    inv = _one(await xero.create_invoice())
    assert (
        _one(await xero.get(f"/Invoices/{inv['InvoiceNumber']}"))["InvoiceID"] == inv["InvoiceID"]
    )
    assert (await xero.get("/Invoices/00000000-0000-0000-0000-000000000000")).status_code == 404
