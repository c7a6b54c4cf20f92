"""A real PDF of an invoice (what `Accept: application/pdf` answers), drawn with fpdf2."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF

STATUS_WORDS = {
    "DRAFT": "DRAFT",
    "SUBMITTED": "AWAITING APPROVAL",
    "AUTHORISED": "",
    "PAID": "PAID",
    "VOIDED": "VOID",
    "DELETED": "DELETED",
}


def _t(value: Any) -> str:
    # The core fonts are Latin-1 only; anything else becomes "?" rather than failing.
    return str(value if value is not None else "").encode("latin-1", "replace").decode("latin-1")


def _lines_table(doc: FPDF, invoice: dict[str, Any]) -> None:
    """One row per line item, with its tax."""
    widths = (80, 20, 25, 25, 30)
    doc.set_font("Helvetica", "B", 9)
    for width, title in zip(
        widths, ("Description", "Quantity", "Unit Price", "Tax", "Amount"), strict=True
    ):
        doc.cell(width, 7, title, border="B", align="L" if title == "Description" else "R")
    doc.ln()
    doc.set_font("Helvetica", "", 9)
    for line in invoice.get("LineItems", []):
        cells = (
            _t(line.get("Description"))[:60],
            line.get("Quantity", ""),
            line.get("UnitAmount", ""),
            line.get("TaxAmount", ""),
            line.get("LineAmount", ""),
        )
        for index, (width, value) in enumerate(zip(widths, cells, strict=True)):
            doc.cell(width, 6, _t(value), align="L" if index == 0 else "R")
        doc.ln()


def render_invoice(org: dict[str, Any], invoice: dict[str, Any], contact: dict[str, Any]) -> bytes:
    doc = FPDF(format="A4")
    doc.set_title(_t(f"Invoice {invoice.get('InvoiceNumber', '')}"))
    doc.set_author(_t(org.get("Name")))
    doc.add_page()
    doc.set_font("Helvetica", "B", 20)
    doc.cell(0, 12, "TAX INVOICE", new_x="LMARGIN", new_y="NEXT")
    marker = STATUS_WORDS.get(invoice.get("Status", ""), "")
    if marker:
        doc.set_text_color(180, 0, 0)
        doc.set_font("Helvetica", "B", 12)
        doc.cell(0, 8, marker, new_x="LMARGIN", new_y="NEXT")
        doc.set_text_color(0, 0, 0)
    doc.set_font("Helvetica", "", 10)
    doc.cell(0, 6, _t(org.get("Name")), new_x="LMARGIN", new_y="NEXT")
    doc.ln(3)
    doc.set_font("Helvetica", "B", 10)
    doc.cell(0, 6, _t(contact.get("Name")), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", "", 10)
    for address in contact.get("Addresses", [])[:1]:
        for key in ("AddressLine1", "AddressLine2", "City", "Region", "PostalCode", "Country"):
            if address.get(key):
                doc.cell(0, 5, _t(address[key]), new_x="LMARGIN", new_y="NEXT")
    doc.ln(3)
    for label, key in (
        ("Invoice Number", "InvoiceNumber"),
        ("Invoice Date", "Date"),
        ("Due Date", "DueDate"),
        ("Reference", "Reference"),
        ("Currency", "CurrencyCode"),
    ):
        if invoice.get(key):
            doc.cell(40, 5, label)
            doc.cell(0, 5, _t(invoice[key]), new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    _lines_table(doc, invoice)
    doc.ln(3)
    label = "Includes tax" if invoice.get("LineAmountTypes") == "Inclusive" else "Total tax"
    for title, key in (
        ("Subtotal", "SubTotal"),
        (label, "TotalTax"),
        ("TOTAL", "Total"),
        ("Amount paid", "AmountPaid"),
        ("Amount due", "AmountDue"),
    ):
        doc.set_font("Helvetica", "B" if key in ("Total", "AmountDue") else "", 10)
        doc.cell(150, 6, title, align="R")
        doc.cell(30, 6, _t(invoice.get(key, "")), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
