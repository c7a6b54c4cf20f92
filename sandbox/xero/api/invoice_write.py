"""Validating and saving one invoice (create or update), as Xero does (xero.md section 10).

Every check runs before anything is written, so a refused invoice leaves no trace (not even
an auto-created contact). Messages quoted in xero.md are used verbatim; others are marked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.xero import rules
from sandbox.xero.api.contacts import find_contact, save_contact
from sandbox.xero.api.invoice_lines import build_lines
from sandbox.xero.state import XeroState, new_id

TYPES = ("ACCREC", "ACCPAY")
NO_CONTACT = (
    "The Contact must contain at least 1 of the following elements to identify the contact: "
    "Name, ContactID, ContactNumber"
)
# Fields a POST may carry without counting as an edit of the document.
NON_EDITS = frozenset({"InvoiceID", "Status", "SentToContact", "ExpectedPaymentDate", "Type"})


@dataclass
class Checked:
    """What validating one invoice resolved; written only when ``errors`` stays empty."""

    inv_type: str
    target: str
    errors: list[str] = field(default_factory=list)
    contact: dict[str, Any] | None = None
    new_contact_name: str | None = None
    inv_date: str | None = None
    due_date: str | None = None
    amount_types: str = "Exclusive"
    currency: str = ""
    currency_doc: dict[str, Any] | None = None
    theme_id: Any = None
    number: Any = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    sums: rules.Totals | None = None


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


def save_invoice(
    state: XeroState,
    tenant: str,
    entity: dict[str, Any],
    existing: dict[str, Any] | None,
    unitdp: int,
) -> tuple[dict[str, Any], list[str]]:
    """Create (existing None) or update one invoice; (document, []) or (entity, errors)."""
    doc = dict(existing or {})
    status = check_status(entity, doc, existing)
    if isinstance(status, list):
        return entity, status
    checked = Checked(*status)
    check_contact(state, tenant, entity, doc, checked)
    check_dates(state, tenant, entity, doc, checked)
    check_header(state, tenant, entity, doc, checked)
    check_lines(state, tenant, entity, doc, checked, unitdp)
    if checked.errors:
        return entity, checked.errors
    return write_invoice(state, tenant, entity, doc, existing, checked), []


def check_status(
    entity: dict[str, Any], doc: dict[str, Any], existing: dict[str, Any] | None
) -> tuple[str, str] | list[str]:
    """(type, target status), or the refusal when the type or status change is not allowed."""
    current = doc.get("Status")
    target = str(entity.get("Status") or current or "DRAFT").upper()
    if target not in rules.STATUSES:
        return [f"Invoice Status '{target}' is not valid"]  # wording UNCONFIRMED
    # An allocated credit note counts as a payment (xero.md 10.5).
    has_payments = bool(doc.get("Payments") or doc.get("CreditNotes"))
    if existing is None:
        inv_type = str(entity.get("Type") or "")
        if inv_type not in TYPES:
            return ["Invoice Type must be specified as ACCREC or ACCPAY"]  # UNCONFIRMED
        if target not in rules.CREATE_STATUSES:
            # Only DRAFT, SUBMITTED and AUTHORISED are creation statuses (xero.md 10.5).
            return ["Invoice not of valid status for modification"]
        return inv_type, target
    edits = set(entity) - NON_EDITS
    if current in ("PAID", "VOIDED", "DELETED"):
        return ["Invoice not of valid status for modification"]
    if has_payments and edits:
        return [
            "This document cannot be edited as it has a payment or credit note allocated to it."
        ]
    refused = rules.transition_error(current or "DRAFT", target, has_payments)
    if refused:
        return [refused]
    return doc["Type"], target


def check_contact(
    state: XeroState, tenant: str, entity: dict[str, Any], doc: dict[str, Any], checked: Checked
) -> None:
    """By ContactID, ContactNumber or an active contact's Name; an unknown name is created
    once everything else is valid (xero.md 4)."""
    errors = checked.errors
    contact_ref = entity.get("Contact", doc.get("Contact"))
    if not isinstance(contact_ref, dict) or not any(
        contact_ref.get(k) for k in ("ContactID", "ContactNumber", "Name")
    ):
        errors.append(NO_CONTACT)
    elif contact_ref.get("ContactID"):
        checked.contact = find_contact(state, tenant, str(contact_ref["ContactID"]))
        if checked.contact is None:
            errors.append(
                f"The contact with ID {contact_ref['ContactID']} could not be found"
            )  # UNCONFIRMED
    elif contact_ref.get("ContactNumber") and find_contact(
        state, tenant, str(contact_ref["ContactNumber"])
    ):
        checked.contact = find_contact(state, tenant, str(contact_ref["ContactNumber"]))
    else:
        name = str(contact_ref.get("Name") or "").strip()
        checked.contact = next(
            (
                c
                for c in state.store.all("xero:contact", scope=tenant)
                if c["Name"].lower() == name.lower() and c["ContactStatus"] == "ACTIVE"
            ),
            None,
        )
        if checked.contact is None and name:
            checked.new_contact_name = name
        elif checked.contact is None:
            errors.append(NO_CONTACT)


def check_dates(
    state: XeroState, tenant: str, entity: dict[str, Any], doc: dict[str, Any], checked: Checked
) -> None:
    try:
        inv_date = parse_date(entity["Date"]) if "Date" in entity else doc.get("Date")
        due_date = parse_date(entity["DueDate"]) if "DueDate" in entity else doc.get("DueDate")
    except ValueError:
        checked.errors.append("The Date field must be a valid date.")  # wording UNCONFIRMED
        inv_date = due_date = None
    checked.inv_date = inv_date or today(state, tenant)
    checked.due_date = due_date
    if checked.target == "AUTHORISED" and not due_date:
        checked.errors.append("The document DueDate field must be specified.")


def check_header(
    state: XeroState, tenant: str, entity: dict[str, Any], doc: dict[str, Any], checked: Checked
) -> None:
    """LineAmountTypes, currency, branding theme and the invoice number."""
    errors = checked.errors
    org = state.org(tenant) or {}
    amount_types = str(entity.get("LineAmountTypes") or doc.get("LineAmountTypes") or "Exclusive")
    if amount_types not in rules.LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{amount_types}' is not valid")  # wording UNCONFIRMED
        amount_types = "Exclusive"
    checked.amount_types = amount_types
    currency = str(entity.get("CurrencyCode") or doc.get("CurrencyCode") or org.get("BaseCurrency"))
    checked.currency = currency
    checked.currency_doc = state.store.get("xero:currency", f"{tenant}:{currency}")
    if checked.currency_doc is None:
        errors.append(f"Organisation is not subscribed to currency {currency}")
    theme_id = checked.theme_id = entity.get("BrandingThemeID", doc.get("BrandingThemeID"))
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
            and holder["Type"] == checked.inv_type
            and holder["Status"] != "DELETED"
        )
        if taken and checked.inv_type == "ACCREC":
            errors.append("Invoice # must be unique.")
    checked.number = number


def check_lines(
    state: XeroState,
    tenant: str,
    entity: dict[str, Any],
    doc: dict[str, Any],
    checked: Checked,
    unitdp: int,
) -> None:
    """The lines (given, or the stored ones recomputed) and the totals a given Total must match."""
    errors = checked.errors
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
    checked.lines, results = build_lines(
        state, tenant, checked.inv_type, raw_lines, checked.amount_types, line_dp, errors
    )
    sums = checked.sums = rules.totals(results, checked.amount_types)
    given_total = entity.get("Total")
    if given_total is not None and not errors:
        try:
            if rules.to_decimal(given_total) != sums.total:
                errors.append("The invoice total does not equal the sum of the lines.")
        except ValueError:
            errors.append("The invoice total does not equal the sum of the lines.")


def write_invoice(
    state: XeroState,
    tenant: str,
    entity: dict[str, Any],
    doc: dict[str, Any],
    existing: dict[str, Any] | None,
    checked: Checked,
) -> dict[str, Any]:
    """Create the new contact if one was named, then store the invoice and its number."""
    contact = checked.contact
    if checked.new_contact_name is not None:
        contact, _ = save_contact(state, tenant, {"Name": checked.new_contact_name}, None)
    assert contact is not None
    inv_type = checked.inv_type
    if inv_type == "ACCREC" and not contact.get("IsCustomer"):
        contact["IsCustomer"] = True
        state.store.put("xero:contact", contact["ContactID"], contact, scope=tenant)
    number = checked.number
    if not number and existing is None:
        number = next_number(state, tenant) if inv_type == "ACCREC" else None
    doc.update(invoice_fields(state, tenant, entity, doc, checked, contact, number))
    if checked.target in ("VOIDED", "DELETED"):
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
    return doc


def invoice_fields(
    state: XeroState,
    tenant: str,
    entity: dict[str, Any],
    doc: dict[str, Any],
    checked: Checked,
    contact: dict[str, Any],
    number: Any,
) -> dict[str, Any]:
    """The stored document's fields, as Xero answers them."""
    sums = checked.sums
    assert sums is not None
    inv_date, due_date, theme_id = checked.inv_date, checked.due_date, checked.theme_id
    paid = Decimal(doc.get("AmountPaid", "0.00"))
    return dict(
        Type=checked.inv_type,
        InvoiceID=doc.get("InvoiceID") or new_id(),
        InvoiceNumber=number or "",
        Reference=str(entity.get("Reference", doc.get("Reference", "")) or ""),
        Contact={"ContactID": contact["ContactID"], "Name": contact["Name"]},
        Date=inv_date,
        DateString=f"{inv_date}T00:00:00",
        DueDate=due_date,
        DueDateString=f"{due_date}T00:00:00" if due_date else None,
        LineAmountTypes=checked.amount_types,
        LineItems=checked.lines,
        SubTotal=str(sums.sub_total),
        TotalTax=str(sums.total_tax),
        Total=str(sums.total),
        TotalDiscount=str(sums.total_discount),
        IsDiscounted=sums.total_discount > 0,
        CurrencyCode=checked.currency,
        CurrencyRate=str(Decimal((checked.currency_doc or {}).get("_rate", "1"))),
        Status=checked.target,
        BrandingThemeID=str(theme_id).lower() if theme_id else None,
        Url=entity.get("Url", doc.get("Url")),
        SentToContact=bool(entity.get("SentToContact", doc.get("SentToContact", False))),
        ExpectedPaymentDate=entity.get("ExpectedPaymentDate", doc.get("ExpectedPaymentDate")),
        AmountPaid=str(rules.money(paid)),
        AmountCredited=doc.get("AmountCredited", "0.00"),
        AmountDue=str(rules.money(sums.total - paid - Decimal(doc.get("AmountCredited", "0")))),
        HasAttachments=False,
        HasErrors=False,
        UpdatedDateUTC=state.now_ms(),
        _tenant=tenant,
    )


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
