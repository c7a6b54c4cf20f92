"""Provider contacts and items as our API shapes, and what pushing the CRM's customer fields
would change on a contact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.invoices.schemas import ContactOut, FieldChange, ItemOut
from app.providers.base import Address, Contact, ContactInput, Item


def address_text(address: Address | None) -> str | None:
    if address is None or address.is_empty():
        return None
    parts = [*address.lines, address.city, address.region, address.postal_code, address.country]
    return ", ".join(p for p in parts if p) or None


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut(
        id=contact.id,
        name=contact.name,
        email=contact.email,
        tax_number=contact.tax_number,
        currency=contact.currency,
        address=address_text(contact.address),
    )


def item_out(item: Item) -> ItemOut:
    return ItemOut(
        id=item.id,
        name=item.name,
        code=item.code,
        description=item.description,
        unit_price=item.unit_price,
        tax_code=item.tax_code,
        account_code=item.account_code,
    )


def _norm(text: str | None) -> str:
    return " ".join((text or "").replace(",", " ").split()).casefold()


def contact_diff(
    contact: Contact, email: str | None, address: str | None, tax_id: str | None
) -> list[FieldChange]:
    """What pushing the CRM's email, address and tax id would change on the contact: only the
    fields the CRM has and that differ (ignoring case, commas and spacing)."""
    out: list[FieldChange] = []
    current = {
        "email": contact.email,
        "address": address_text(contact.address),
        "tax_id": contact.tax_number,
    }
    for name, value in (("email", email), ("address", address), ("tax_id", tax_id)):
        if value and value.strip() and _norm(value) != _norm(current[name]):
            out.append(FieldChange(field=name, provider_value=current[name], crm_value=value))
    return out


def contact_input(changes: Sequence[FieldChange]) -> ContactInput:
    values: dict[str, Any] = {}
    for change in changes:
        if change.field == "email":
            values["email"] = change.crm_value
        elif change.field == "tax_id":
            values["tax_number"] = change.crm_value
        else:
            values["address"] = Address(lines=(change.crm_value,))
    return ContactInput(**values)


def contact_data(
    name: str | None,
    email: str | None,
    address: str | None,
    tax_id: str | None,
    currency: str | None,
) -> ContactInput:
    return ContactInput(
        name=name,
        email=email or None,
        address=Address(lines=(address,)) if address else None,
        tax_number=tax_id or None,
        currency=currency or None,
    )
