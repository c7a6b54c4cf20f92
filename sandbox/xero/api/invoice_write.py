"""Validating and saving one invoice (create or update), as Xero does (xero.md section 10).

Every check runs before anything is written, so a refused invoice leaves no trace (not even
an auto-created contact). Messages quoted in xero.md are used verbatim; others are marked.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.xero import rules
from sandbox.xero.api.contacts import find_contact, save_contact
from sandbox.xero.api.items import find_item
from sandbox.xero.state import XeroState, new_id

TYPES = ("ACCREC", "ACCPAY")
NO_CONTACT = (
    "The Contact must contain at least 1 of the following elements to identify the contact: "
    "Name, ContactID, ContactNumber"
)
# Fields a POST may carry without counting as an edit of the document.
NON_EDITS = frozenset({"InvoiceID", "Status", "SentToContact", "ExpectedPaymentDate", "Type"})


def parse_date(raw: Any) -> str | None:
    """`YYYY-MM-DD`, an ISO timestamp, or MS-JSON `/Date(ms+zzzz)/` -> ISO date; ValueError."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    found = re.fullmatch(r"/Date\((-?\d+)([+-]\d{4})?\)/", text)
    if found:
        return datetime.fromtimestamp(int(found.group(1)) / 1000, UTC).date().isoformat()
    return date.fromisoformat(text[:10]).isoformat()


def today(state: XeroState, tenant: str) -> str:
    org = state.org(tenant) or {}
    zone = ZoneInfo(org.get("_zone", "UTC"))
    return state.now().astimezone(zone).date().isoformat()


def _number(line: dict[str, Any], key: str, errors: list[str]) -> Decimal | None:
    try:
        return rules.to_decimal(line.get(key))
    except ValueError:
        errors.append(f"{key} must be a number")
        return None


def build_lines(
    state: XeroState,
    tenant: str,
    inv_type: str,
    raw_lines: list[Any],
    amount_types: str,
    unitdp: int,
    errors: list[str],
) -> tuple[list[dict[str, Any]], list[rules.LineResult]]:
    org = state.org(tenant) or {}
    lines: list[dict[str, Any]] = []
    results: list[rules.LineResult] = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            errors.append("A line item could not be read")
            continue
        line: dict[str, Any] = {"LineItemID": str(raw.get("LineItemID") or new_id()).lower()}
        item = None
        if raw.get("ItemCode"):
            item = find_item(state, tenant, str(raw["ItemCode"]))
            if item is None:
                # Wording UNCONFIRMED.
                errors.append(f"Item code '{raw['ItemCode']}' is not valid")
                continue
        details = (item or {}).get(
            "SalesDetails" if inv_type == "ACCREC" else "PurchaseDetails"
        ) or {}
        # Filling a line from its item is UNCONFIRMED (xero.md 5); only missing fields are filled.
        description = (
            raw.get("Description") or (item or {}).get("Description") or (item or {}).get("Name")
        )
        if not description:
            errors.append(
                "Description must be specified for every line item"
            )  # UNCONFIRMED wording
            continue
        qty = _number(raw, "Quantity", errors)
        unit_amount = _number(raw, "UnitAmount", errors)
        given_amount = _number(raw, "LineAmount", errors)
        rate = _number(raw, "DiscountRate", errors)
        discount_amount = _number(raw, "DiscountAmount", errors)
        tax_override = _number(raw, "TaxAmount", errors)
        if unit_amount is None and details.get("UnitPrice") is not None:
            unit_amount = Decimal(details["UnitPrice"])
        if unit_amount is None and given_amount is not None:
            # "You may omit Qty or UnitAmount and send LineAmount instead" (xero.md 10.4).
            qty = qty if qty is not None else Decimal(1)
            unit_amount = given_amount / qty if qty else given_amount
        qty = qty if qty is not None else Decimal(1)
        unit_amount = rules.unit(unit_amount if unit_amount is not None else Decimal(0), unitdp)
        if inv_type != "ACCREC":
            rate = discount_amount = None  # discounts are ACCREC only
        try:
            amount, discount = rules.line_amount(qty, unit_amount, rate, discount_amount)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        account_code = raw.get("AccountCode") or details.get("AccountCode")
        account = None
        if account_code:
            account = next(
                (
                    a
                    for a in state.store.all("xero:account", scope=tenant)
                    if a["Code"] == str(account_code)
                ),
                None,
            )
            if account is None or account["Status"] != "ACTIVE":
                errors.append(
                    f"Account code '{account_code}' is not a valid code for this document."
                )
                continue
        tax_type = raw.get("TaxType") or details.get("TaxType")
        if not tax_type:
            tax_type = (account or {}).get("TaxType") or org.get("_sales_tax_type", "NONE")
        if amount_types == "NoTax":
            tax_type = raw.get("TaxType") or "NONE"
        tax_rate = state.store.get("xero:taxrate", f"{tenant}:{str(tax_type).upper()}")
        if tax_rate is None or tax_rate["Status"] != "ACTIVE":
            errors.append(
                f"The TaxType code '{tax_type}' does not exist or cannot be used with this type "
                "of transaction."  # wording UNCONFIRMED
            )
            continue
        revenue = inv_type == "ACCREC"
        if not tax_rate["CanApplyToRevenue" if revenue else "CanApplyToExpenses"]:
            errors.append(
                f"The TaxType code '{tax_type}' cannot be used with account code "
                f"'{account_code or ''}'."
            )
            continue
        effective = Decimal(tax_rate["EffectiveRate"])
        tax = rules.line_tax(amount, effective, amount_types)
        if tax_override is not None and amount_types != "NoTax":
            tax = rules.money(tax_override)  # "auto-calculated, can be overridden" (10.4)
        line.update(
            Description=str(description),
            Quantity=str(qty),
            UnitAmount=str(unit_amount),
            TaxType=tax_rate["TaxType"],
            TaxAmount=str(tax),
            LineAmount=str(amount),
        )
        if account_code:
            line["AccountCode"] = str(account_code)
            line["AccountID"] = account["AccountID"] if account else None
        if item is not None:
            line["ItemCode"] = item["Code"]
            line["Item"] = {
                "ItemID": item["ItemID"],
                "Code": item["Code"],
                "Name": item.get("Name"),
            }
        if rate:
            line["DiscountRate"] = str(rate)
        elif discount_amount:
            line["DiscountAmount"] = str(rules.money(discount_amount))
        line["Tracking"] = raw.get("Tracking") or []
        lines.append(line)
        results.append(rules.LineResult(amount, tax, discount))
    return lines, results


def save_invoice(
    state: XeroState,
    tenant: str,
    entity: dict[str, Any],
    existing: dict[str, Any] | None,
    unitdp: int,
) -> tuple[dict[str, Any], list[str]]:
    """Create (existing None) or update one invoice; (document, []) or (entity, errors)."""
    errors: list[str] = []
    org = state.org(tenant) or {}
    doc = dict(existing or {})
    current = doc.get("Status")
    target = str(entity.get("Status") or current or "DRAFT").upper()
    if target not in rules.STATUSES:
        return entity, [f"Invoice Status '{target}' is not valid"]  # wording UNCONFIRMED
    has_payments = bool(doc.get("Payments"))
    if existing is None:
        inv_type = str(entity.get("Type") or "")
        if inv_type not in TYPES:
            return entity, ["Invoice Type must be specified as ACCREC or ACCPAY"]  # UNCONFIRMED
        if target not in rules.CREATE_STATUSES:
            # Only DRAFT, SUBMITTED and AUTHORISED are creation statuses (xero.md 10.5).
            return entity, ["Invoice not of valid status for modification"]
    else:
        inv_type = doc["Type"]
        edits = set(entity) - NON_EDITS
        if current in ("PAID", "VOIDED", "DELETED"):
            return entity, ["Invoice not of valid status for modification"]
        if has_payments and edits:
            return entity, [
                "This document cannot be edited as it has a payment or credit note allocated to it."
            ]
        refused = rules.transition_error(current or "DRAFT", target, has_payments)
        if refused:
            return entity, [refused]

    # Contact
    contact_ref = entity.get("Contact", doc.get("Contact"))
    contact: dict[str, Any] | None = None
    new_contact_name: str | None = None
    if not isinstance(contact_ref, dict) or not any(
        contact_ref.get(k) for k in ("ContactID", "ContactNumber", "Name")
    ):
        errors.append(NO_CONTACT)
    elif contact_ref.get("ContactID"):
        contact = find_contact(state, tenant, str(contact_ref["ContactID"]))
        if contact is None:
            errors.append(
                f"The contact with ID {contact_ref['ContactID']} could not be found"
            )  # UNCONFIRMED
    elif contact_ref.get("ContactNumber") and find_contact(
        state, tenant, str(contact_ref["ContactNumber"])
    ):
        contact = find_contact(state, tenant, str(contact_ref["ContactNumber"]))
    else:
        name = str(contact_ref.get("Name") or "").strip()
        contact = next(
            (
                c
                for c in state.store.all("xero:contact", scope=tenant)
                if c["Name"].lower() == name.lower() and c["ContactStatus"] == "ACTIVE"
            ),
            None,
        )
        if contact is None and name:
            new_contact_name = name  # auto-created once everything else is valid (xero.md 4)
        elif contact is None:
            errors.append(NO_CONTACT)

    # Dates
    try:
        inv_date = parse_date(entity["Date"]) if "Date" in entity else doc.get("Date")
        due_date = parse_date(entity["DueDate"]) if "DueDate" in entity else doc.get("DueDate")
    except ValueError:
        errors.append("The Date field must be a valid date.")  # wording UNCONFIRMED
        inv_date = due_date = None
    inv_date = inv_date or today(state, tenant)
    if target == "AUTHORISED" and not due_date:
        errors.append("The document DueDate field must be specified.")

    amount_types = str(entity.get("LineAmountTypes") or doc.get("LineAmountTypes") or "Exclusive")
    if amount_types not in rules.LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{amount_types}' is not valid")  # wording UNCONFIRMED
        amount_types = "Exclusive"
    currency = str(entity.get("CurrencyCode") or doc.get("CurrencyCode") or org.get("BaseCurrency"))
    currency_doc = state.store.get("xero:currency", f"{tenant}:{currency}")
    if currency_doc is None:
        errors.append(f"Organisation is not subscribed to currency {currency}")
    theme_id = entity.get("BrandingThemeID", doc.get("BrandingThemeID"))
    if theme_id:
        theme = state.store.get("xero:theme", str(theme_id).lower())
        if theme is None or theme["_tenant"] != tenant:
            errors.append(f"Branding theme {theme_id} is not valid")  # wording UNCONFIRMED
    number = entity.get("InvoiceNumber", doc.get("InvoiceNumber"))
    if number:
        number = str(number)
        if len(number) > 255:
            errors.append("The InvoiceNumber must not be more than 255 characters long.")
        holder = invoice_by_number(state, tenant, number)
        taken = (
            holder is not None
            and holder["InvoiceID"] != doc.get("InvoiceID")
            and holder["Type"] == inv_type
            and holder["Status"] != "DELETED"
        )
        if taken and inv_type == "ACCREC":
            errors.append("Invoice # must be unique.")

    raw_lines = entity.get("LineItems")
    if raw_lines is not None and not isinstance(raw_lines, list):
        errors.append("LineItems must be a list")
        raw_lines = []
    line_dp = unitdp
    if raw_lines is None:
        # Lines unchanged: re-read the stored ones (at full precision, tax recomputed) so that
        # a change of LineAmountTypes or status recomputes the totals alike.
        raw_lines = [
            {k: v for k, v in ln.items() if k != "TaxAmount"} for ln in doc.get("LineItems", [])
        ]
        line_dp = 4
    lines, results = build_lines(state, tenant, inv_type, raw_lines, amount_types, line_dp, errors)
    sums = rules.totals(results, amount_types)
    given_total = entity.get("Total")
    if given_total is not None and not errors:
        try:
            if rules.to_decimal(given_total) != sums.total:
                errors.append("The invoice total does not equal the sum of the lines.")
        except ValueError:
            errors.append("The invoice total does not equal the sum of the lines.")
    if errors:
        return entity, errors

    if new_contact_name is not None:
        contact, _ = save_contact(state, tenant, {"Name": new_contact_name}, None)
    assert contact is not None
    if inv_type == "ACCREC" and not contact.get("IsCustomer"):
        contact["IsCustomer"] = True
        state.store.put("xero:contact", contact["ContactID"], contact, scope=tenant)
    if not number and existing is None:
        number = next_number(state, tenant) if inv_type == "ACCREC" else None
    paid = Decimal(doc.get("AmountPaid", "0.00"))
    doc.update(
        Type=inv_type,
        InvoiceID=doc.get("InvoiceID") or new_id(),
        InvoiceNumber=number or "",
        Reference=str(entity.get("Reference", doc.get("Reference", "")) or ""),
        Contact={"ContactID": contact["ContactID"], "Name": contact["Name"]},
        Date=inv_date,
        DateString=f"{inv_date}T00:00:00",
        DueDate=due_date,
        DueDateString=f"{due_date}T00:00:00" if due_date else None,
        LineAmountTypes=amount_types,
        LineItems=lines,
        SubTotal=str(sums.sub_total),
        TotalTax=str(sums.total_tax),
        Total=str(sums.total),
        TotalDiscount=str(sums.total_discount),
        IsDiscounted=sums.total_discount > 0,
        CurrencyCode=currency,
        CurrencyRate=str(Decimal((currency_doc or {}).get("_rate", "1"))),
        Status=target,
        BrandingThemeID=str(theme_id).lower() if theme_id else None,
        Url=entity.get("Url", doc.get("Url")),
        SentToContact=bool(entity.get("SentToContact", doc.get("SentToContact", False))),
        ExpectedPaymentDate=entity.get("ExpectedPaymentDate", doc.get("ExpectedPaymentDate")),
        AmountPaid=str(rules.money(paid)),
        AmountCredited=doc.get("AmountCredited", "0.00"),
        AmountDue=str(rules.money(sums.total - paid)),
        HasAttachments=False,
        HasErrors=False,
        UpdatedDateUTC=state.now_ms(),
        _tenant=tenant,
    )
    if target in ("VOIDED", "DELETED"):
        # Nothing is owed on a voided or deleted invoice; Xero's exact AmountDue there is
        # UNCONFIRMED.
        doc["AmountDue"] = "0.00"
    for key in ("Payments", "CreditNotes", "Prepayments", "Overpayments"):
        doc.setdefault(key, [])
    old_number = (existing or {}).get("InvoiceNumber")
    with state.store.transaction():
        state.store.put("xero:invoice", doc["InvoiceID"], doc, scope=tenant)
        if old_number and old_number != doc["InvoiceNumber"]:
            state.store.delete("xero:invno", f"{tenant}:{old_number}")
        if doc["InvoiceNumber"]:
            index_number(state, tenant, doc)
    if state.batcher is not None:
        state.batcher.add(tenant, "INVOICE", "UPDATE" if existing else "CREATE", doc["InvoiceID"])
    return doc, []


def index_number(state: XeroState, tenant: str, doc: dict[str, Any]) -> None:
    """Invoice numbers are looked up on every write: an index keeps that O(1)."""
    key = f"{tenant}:{doc['InvoiceNumber']}"
    state.store.put("xero:invno", key, {"InvoiceID": doc["InvoiceID"]}, scope=tenant)


def invoice_by_number(state: XeroState, tenant: str, number: str) -> dict[str, Any] | None:
    entry = state.store.get("xero:invno", f"{tenant}:{number}")
    found = state.store.get("xero:invoice", entry["InvoiceID"]) if entry else None
    return found if found is not None and found.get("InvoiceNumber") == number else None


def next_number(state: XeroState, tenant: str) -> str:
    """INV-0001, INV-0002, ... per organisation, skipping numbers already used by hand."""
    while True:
        candidate = f"INV-{state.store.next_seq(f'xero:invno:{tenant}'):04d}"
        if invoice_by_number(state, tenant, candidate) is None:
            return candidate
