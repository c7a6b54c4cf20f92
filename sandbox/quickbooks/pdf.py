"""A real PDF of an invoice, as `GET …/invoice/{Id}/pdf` returns (fpdf2, core fonts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fpdf import FPDF

from sandbox.quickbooks.rules import DISCOUNT, SALES, SUBTOTAL


def _text(value: Any) -> str:
    # Core PDF fonts are Latin-1; anything else is replaced rather than failing the download.
    return str(value if value is not None else "").encode("latin-1", "replace").decode("latin-1")


def _money(value: Any, currency: str) -> str:
    return f"{currency} {float(value or 0):,.2f}"


WIDTHS = (90, 25, 35, 40)


def _lines_table(pdf: FPDF, invoice: dict[str, Any], currency: str) -> None:
    """One row per line as read: items, the computed subtotal and discounts."""
    widths = WIDTHS
    pdf.set_font("Helvetica", "B", 10)
    for width, head in zip(widths, ("Description", "Qty", "Rate", "Amount"), strict=True):
        pdf.cell(width, 7, head, border="B", align="L" if head == "Description" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for item in invoice.get("Line", []):
        kind = item.get("DetailType")
        if kind == SALES:
            detail = item[SALES]
            desc = item.get("Description") or detail.get("ItemRef", {}).get("name", "")
            cells = (desc, detail.get("Qty", ""), detail.get("UnitPrice", ""), item["Amount"])
        elif kind == SUBTOTAL:
            cells = ("Subtotal", "", "", item["Amount"])
        elif kind == DISCOUNT:
            pct = item.get(DISCOUNT, {}).get("DiscountPercent")
            cells = (f"Discount{f' {pct}%' if pct else ''}", "", "", -float(item["Amount"]))
        else:
            cells = (item.get("Description", ""), "", "", "")
        pdf.cell(widths[0], 6, _text(cells[0])[:60])
        pdf.cell(widths[1], 6, _text(cells[1]), align="R")
        pdf.cell(widths[2], 6, _text(cells[2]), align="R")
        amount = _money(cells[3], currency) if cells[3] != "" else ""
        pdf.cell(widths[3], 6, amount, align="R", new_x="LMARGIN", new_y="NEXT")


def invoice_pdf(realm: dict[str, Any], invoice: dict[str, Any], now: datetime) -> bytes:
    """Render the invoice as read (with its computed subtotal line) to PDF bytes."""
    company = realm.get("CompanyInfo", {})
    currency = invoice.get("CurrencyRef", {}).get("value", "USD")
    pdf = FPDF(format="Letter")
    pdf.set_title(_text(f"Invoice {invoice.get('DocNumber') or invoice['Id']}"))
    pdf.set_author(_text(company.get("CompanyName")))
    pdf.set_creation_date(now)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, _text(company.get("CompanyName", "")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    addr = company.get("CompanyAddr", {})
    line = ", ".join(
        str(addr[k])
        for k in ("Line1", "City", "CountrySubDivisionCode", "PostalCode")
        if addr.get(k)
    )
    pdf.cell(0, 5, _text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 14)
    title = "INVOICE" + (" (VOIDED)" if invoice.get("PrivateNote", "").startswith("Voided") else "")
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for label, value in (
        ("Invoice no.", invoice.get("DocNumber")),
        ("Bill to", invoice.get("CustomerRef", {}).get("name")),
        ("Date", invoice.get("TxnDate")),
        ("Due date", invoice.get("DueDate")),
        ("Terms", (invoice.get("SalesTermRef") or {}).get("name")),
    ):
        if value:
            pdf.cell(30, 6, label)
            pdf.cell(0, 6, _text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _lines_table(pdf, invoice, currency)
    pdf.ln(3)
    widths = WIDTHS
    tax = (invoice.get("TxnTaxDetail") or {}).get("TotalTax", 0)
    for label, value in (
        ("Tax", tax),
        ("Total", invoice.get("TotalAmt")),
        ("Balance due", invoice.get("Balance")),
    ):
        pdf.set_font("Helvetica", "B" if label != "Tax" else "", 10)
        pdf.cell(sum(widths[:3]), 6, label, align="R")
        pdf.cell(widths[3], 6, _money(value, currency), align="R", new_x="LMARGIN", new_y="NEXT")
    memo = (invoice.get("CustomerMemo") or {}).get("value")
    if memo:
        pdf.ln(6)
        pdf.multi_cell(0, 5, _text(memo))
    return bytes(pdf.output())
