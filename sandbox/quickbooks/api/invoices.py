"""Invoices: create, full and sparse update, void, delete, send, payments (quickbooks.md §3)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.api.names import check_currency, currency_prefs
from sandbox.quickbooks.clocktime import company_today, qbo_time
from sandbox.quickbooks.rules import (
    DESCRIPTION,
    DISCOUNT,
    SALES,
    SUBTOTAL,
    cents,
    check_line_amount,
    dec,
    totals,
)
from sandbox.quickbooks.state import Books, check_sync_token, ref_value

EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
US_TAX_CODES = ("TAX", "NON")
# Rates used when a foreign-currency invoice carries no ExchangeRate (home units per unit).
DEFAULT_RATES = {"EUR": "1.08", "GBP": "1.27", "NZD": "0.60", "AUD": "0.66", "CAD": "0.73"}
READ_ONLY = ("Id", "SyncToken", "MetaData", "sparse", "domain", "TotalAmt", "Balance")


def _check_email(address: Any, element: str) -> str:
    text = str(address or "").strip()
    if not EMAIL.match(text):
        raise errors.QboFault(
            400,
            "2210",
            "Invalid Email Address format",
            f"Email Address does not conform to the syntax rules of RFC 822: {text}",
            element=element,
        )
    return text


def check_date(value: Any, element: str) -> str:
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        raise errors.invalid_property(f"Invalid date {value!r} for {element}", element) from None


def _tax_rates(books: Books) -> dict[str, Decimal]:
    """Rate per tax code: the sum of its sales tax rates (quickbooks.md §9, TaxCode)."""
    rates: dict[str, Decimal] = {}
    for code in books.all("TaxCode"):
        total = Decimal("0")
        for detail in (code.get("SalesTaxRateList") or {}).get("TaxRateDetail", []):
            rate = books.get("TaxRate", ref_value(detail.get("TaxRateRef")) or "")
            if rate:
                total += dec(rate.get("RateValue", 0))
        rates[code.get("Name", code["Id"])] = total
        rates[code["Id"]] = total
    return rates


def sales_lines(books: Books, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise errors.required("Line")
    lines: list[dict[str, Any]] = []
    line_num = 0
    for index, given in enumerate(raw):
        if not isinstance(given, dict):
            raise errors.invalid_property("Each Line must be an object", f"Line[{index}]")
        kind = given.get("DetailType")
        if kind == SUBTOTAL:
            continue  # computed on read; clients echo it back from earlier reads
        line = {k: v for k, v in given.items() if k not in ("Id", "LineNum")}
        if kind == SALES:
            detail = dict(line.get(SALES) or {})
            item_id = ref_value(detail.get("ItemRef"))
            # Real QBO may fall back to a default item; the stand-in insists (defensive).
            if not item_id:
                raise errors.required("ItemRef", element=f"Line[{index}].ItemRef")
            item = books.get("Item", item_id)
            if item is None or not item.get("Active", True):
                raise errors.invalid_reference("Item", item_id, f"Line[{index}].ItemRef")
            detail["ItemRef"] = {"value": item_id, "name": item["Name"]}
            if item.get("IncomeAccountRef"):
                detail["ItemAccountRef"] = item["IncomeAccountRef"]
            code = ref_value(detail.get("TaxCodeRef")) or "NON"
            if code not in US_TAX_CODES:
                raise errors.business(
                    "6100",
                    f"Invalid TaxCode {code}: for US companies a line's TaxCodeRef must be TAX "
                    "or NON.",
                    f"Line[{index}].TaxCodeRef",
                )
            detail["TaxCodeRef"] = {"value": code}
            line[SALES] = detail
            check_line_amount(line, index)
        elif kind == DISCOUNT:
            detail = dict(line.get(DISCOUNT) or {})
            if not detail.get("DiscountAccountRef"):
                realm = books.realm_doc() or {}
                detail["DiscountAccountRef"] = realm.get("_discount_account")
            line[DISCOUNT] = detail
        elif kind == DESCRIPTION:
            line.setdefault("DescriptionLineDetail", {})
            line.setdefault("Amount", 0)
        elif kind is None:
            raise errors.required("DetailType", element=f"Line[{index}].DetailType")
        else:
            raise errors.QboFault(
                400,
                "2170",
                "Invalid Enumeration",
                f"Invalid Enumeration : {kind}",
                element=f"Line[{index}].DetailType",
            )
        line_num += 1
        line["Id"] = str(line_num)
        if kind != DISCOUNT:
            line["LineNum"] = line_num
        lines.append(line)
    return lines


def _due_date(books: Books, invoice: dict[str, Any], customer: dict[str, Any]) -> str:
    term_ref = invoice.get("SalesTermRef") or customer.get("SalesTermRef")
    if not term_ref:
        realm = books.realm_doc() or {}
        term_ref = realm.get("Preferences", {}).get("SalesFormsPrefs", {}).get("DefaultTerms")
    txn_date = date.fromisoformat(invoice["TxnDate"])
    term = books.get("Term", ref_value(term_ref) or "") if term_ref else None
    if term and term.get("DueDays") is not None:
        return (txn_date + timedelta(days=int(term["DueDays"]))).isoformat()
    return txn_date.isoformat()


def _next_doc_number(books: Books) -> str:
    # Skip numbers a caller already chose by hand; asked per candidate so that a create does
    # not read every invoice of the company.
    while True:
        candidate = str(1000 + books.store.next_seq(f"qbo:{books.realm}:docnumber"))
        if not books.store.has("qbo:Invoice", books.realm, "$.DocNumber", candidate):
            return candidate


def build(
    books: Books, body: dict[str, Any], existing: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Validate an invoice body and compute everything QBO computes."""
    invoice = {k: v for k, v in body.items() if k not in READ_ONLY}
    customer, currency = customer_and_currency(books, invoice)
    invoice["Line"] = sales_lines(books, invoice.get("Line"))
    today = company_today(books.clock.now())
    invoice["TxnDate"] = check_date(invoice.get("TxnDate") or today, "TxnDate")
    if invoice.get("SalesTermRef"):
        term_id = ref_value(invoice["SalesTermRef"]) or ""
        term = books.get("Term", term_id)
        if term is None:
            raise errors.invalid_reference("Term", term_id, "SalesTermRef")
        invoice["SalesTermRef"] = {"value": term_id, "name": term["Name"]}
    if invoice.get("DueDate"):
        invoice["DueDate"] = check_date(invoice["DueDate"], "DueDate")
    else:
        invoice["DueDate"] = _due_date(books, invoice, customer)
    for key in ("BillEmail", "BillEmailCc", "BillEmailBcc"):
        if invoice.get(key):
            invoice[key] = {"Address": _check_email(invoice[key].get("Address"), key)}
    if invoice.get("EmailStatus") == "NeedToSend" and not invoice.get("BillEmail"):
        raise errors.required("BillEmail")
    _doc_number(books, invoice, existing)
    amounts(books, invoice, body, existing, currency)
    for key, default in (
        ("ApplyTaxAfterDiscount", False),
        ("PrintStatus", "NotSet"),
        ("EmailStatus", "NotSet"),
        ("AllowOnlineCreditCardPayment", False),
        ("AllowOnlineACHPayment", False),
        ("LinkedTxn", []),
        ("CustomField", []),
    ):
        invoice.setdefault(key, default)
    return invoice


def customer_and_currency(books: Books, invoice: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The active customer the invoice names, and a currency that matches the customer's."""
    customer_id = ref_value(invoice.get("CustomerRef"))
    if "CustomerRef" not in invoice or invoice["CustomerRef"] is None:
        raise errors.required("CustomerRef")
    if not customer_id:
        # quickbooks.md §10, 6000: "Unexpected Internal Error. (-30003)" with an empty CustomerRef.
        raise errors.QboFault(
            400,
            "6000",
            "A business validation error has occurred while processing your request",
            "Business Validation Error: Unexpected Internal Error. (-30003)",
        )
    customer = books.get("Customer", customer_id)
    if customer is None or not customer.get("Active", True):
        raise errors.invalid_reference("Customer", customer_id, "CustomerRef")
    invoice["CustomerRef"] = {"value": customer_id, "name": customer["DisplayName"]}
    customer_currency = customer["CurrencyRef"]["value"]
    currency = ref_value(invoice.get("CurrencyRef")) or customer_currency
    check_currency(books, currency, "CurrencyRef")
    if currency != customer_currency:
        # UNCONFIRMED (quickbooks.md §9): the real message for this mismatch is unknown.
        raise errors.business(
            "6000",
            f"The currency of the transaction ({currency}) must match the customer's currency "
            f"({customer_currency}).",
            "CurrencyRef",
        )
    invoice["CurrencyRef"] = check_currency(books, currency, "CurrencyRef")
    return customer, currency


def amounts(
    books: Books,
    invoice: dict[str, Any],
    body: dict[str, Any],
    existing: dict[str, Any] | None,
    currency: str,
) -> None:
    """Tax, totals, balance and their home-currency amounts, as QBO computes them."""
    home, _, _ = currency_prefs(books)
    tax_detail = invoice.get("TxnTaxDetail") or {}
    explicit = tax_detail.get("TotalTax") if existing is None or "TxnTaxDetail" in body else None
    result = totals(
        invoice["Line"],
        _tax_rates(books),
        apply_tax_after_discount=bool(invoice.get("ApplyTaxAfterDiscount", False)),
        explicit_tax=dec(explicit) if explicit is not None else None,
    )
    invoice["TxnTaxDetail"] = {"TotalTax": float(result.tax)}
    if result.tax:
        invoice["TxnTaxDetail"]["TxnTaxCodeRef"] = {"value": "TAX"}
    paid = dec((existing or {}).get("_paid", 0))
    invoice["TotalAmt"] = float(result.total)
    invoice["Balance"] = float(max(result.total - paid, Decimal("0")))
    rate = Decimal("1")
    if currency != home:
        rate = dec(invoice.get("ExchangeRate") or DEFAULT_RATES.get(currency, "1"))
        invoice["ExchangeRate"] = float(rate)
    invoice["HomeTotalAmt"] = float(cents(result.total * rate))
    invoice["HomeBalance"] = float(cents(dec(invoice["Balance"]) * rate))


def _doc_number(books: Books, invoice: dict[str, Any], existing: dict[str, Any] | None) -> None:
    number = invoice.get("DocNumber")
    if number in (None, "", "AUTO_GENERATE"):
        if existing is not None and number is None and existing.get("DocNumber"):
            invoice["DocNumber"] = existing["DocNumber"]
            return
        realm = books.realm_doc() or {}
        custom = realm.get("Preferences", {}).get("SalesFormsPrefs", {}).get("CustomTxnNumbers")
        if custom and number != "AUTO_GENERATE":
            invoice.pop("DocNumber", None)
            return
        invoice["DocNumber"] = _next_doc_number(books)
        return
    number = str(number)
    if len(number) > 21:
        raise errors.QboFault(
            400,
            "2050",
            "String length is either shorter or longer than supported by specification",
            f"String length specified does not match the supported length. Min:0 Max:21 "
            f"supported. Supplied length:{len(number)}",
            element="DocNumber",
        )
    for other in books.all("Invoice"):
        if other.get("DocNumber") == number and (existing is None or other["Id"] != existing["Id"]):
            raise errors.QboFault(
                400,
                "6140",
                "Duplicate Document Number Error",
                "Duplicate Document Number Error : You must specify a different number. This "
                f"number has already been used. DocNumber={number} is assigned to "
                f"TxnType=Invoice with TxnId={other['Id']}",
            )
    invoice["DocNumber"] = number


def create(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    invoice = build(books, body)
    invoice["_paid"] = 0
    return books.insert("Invoice", invoice)


def update(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    """Sparse update merges the given fields (Line replaces all lines); a full update replaces
    every writable field, omitted ones becoming null (quickbooks.md §3.1, §3.5)."""
    if not body.get("Id"):
        raise errors.required("Id")
    doc = books.require("Invoice", str(body["Id"]))
    check_sync_token(doc, body)
    changes = {k: v for k, v in body.items() if k not in READ_ONLY}
    if body.get("sparse"):
        merged = {k: v for k, v in doc.items() if k not in ("TxnTaxDetail",)}
        merged.update(changes)
        if "TxnTaxDetail" in changes:
            merged["TxnTaxDetail"] = changes["TxnTaxDetail"]
        rebuilt = build(books, merged, existing=doc)
    else:
        rebuilt = build(books, changes, existing=doc)
    for key in ("Id", "SyncToken", "MetaData", "domain", "sparse", "_paid", "_voided"):
        if key in doc:
            rebuilt[key] = doc[key]
    rebuilt["LinkedTxn"] = doc.get("LinkedTxn", [])
    return books.save("Invoice", rebuilt)


def void(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    """Keep the invoice, zero amounts and quantities, prepend "Voided" to PrivateNote."""
    if not body.get("Id"):
        raise errors.required("Id")
    doc = books.require("Invoice", str(body["Id"]))
    check_sync_token(doc, body)
    if dec(doc.get("_paid", 0)) > 0:
        # Sources conflict (quickbooks.md §3.5); the stand-in refuses, the stricter reading.
        raise errors.business(
            "6000", "This transaction has payments applied and can't be voided.", "Id"
        )
    for line in doc.get("Line", []):
        line["Amount"] = 0
        if SALES in line:
            line[SALES]["Qty"] = 0
    note = doc.get("PrivateNote") or ""
    doc["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    doc.update(TotalAmt=0, Balance=0, HomeTotalAmt=0, HomeBalance=0, _voided=True)
    doc["TxnTaxDetail"] = {"TotalTax": 0}
    return books.save("Invoice", doc, operation="Void")


def delete(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    if not body.get("Id"):
        raise errors.required("Id")
    doc = books.require("Invoice", str(body["Id"]))
    check_sync_token(doc, body)
    books.delete("Invoice", doc)
    return {"Id": doc["Id"], "status": "Deleted", "domain": "QBO"}


def send(books: Books, invoice_id: str, send_to: str | None) -> dict[str, Any]:
    """Email the invoice (to sendTo, else BillEmail) and record it in the outbox."""
    doc = books.require("Invoice", invoice_id)
    to = send_to or (doc.get("BillEmail") or {}).get("Address")
    if not to:
        raise errors.required("BillEmail")
    to = _check_email(to, "sendTo")
    now = books.clock.now()
    doc["EmailStatus"] = "EmailSent"
    doc["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": qbo_time(now)}
    saved = books.save("Invoice", doc)
    seq = books.store.next_seq("qbo:outbox")
    books.store.put(
        "qbo:outbox",
        str(seq),
        {
            "id": seq,
            "realm_id": books.realm,
            "invoice_id": invoice_id,
            "doc_number": doc.get("DocNumber"),
            "to": to,
            "subject": f"Invoice {doc.get('DocNumber') or invoice_id}",
            "total": doc.get("TotalAmt"),
            "currency": doc["CurrencyRef"]["value"],
            "at": now.isoformat(),
        },
        scope=books.realm,
    )
    return saved
