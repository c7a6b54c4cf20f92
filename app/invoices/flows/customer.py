"""The draft's customer: the CRM's customer fields, the linked provider contact or the one
that matches by name, and what "update customer info" would change on it."""

from __future__ import annotations

from typing import Any

from app.crm.pipedrive.schemas import DealData
from app.invoices.context import InvoiceContext
from app.invoices.models import ContactLink
from app.invoices.rules.contacts import contact_diff, contact_out
from app.invoices.rules.meta import ProviderMeta
from app.invoices.schemas import Check, CustomerOut
from app.providers.base import Contact


async def draft_customer(
    ctx: InvoiceContext,
    provider: str,
    meta: ProviderMeta,
    prefill: Any,
    prefs: Any,
    data: DealData,
    link: ContactLink | None,
    linked: Contact | None,
) -> tuple[CustomerOut, list[Check]]:
    """The customer from the CRM's fields: the linked contact, else the one exact name match,
    with what an update would change; and the mapping warnings."""
    customer = CustomerOut(
        **prefill.customer.as_dict(), update_contact=prefs.defaults.update_customer_info
    )
    if data.organization is not None:
        customer.crm_entity, customer.crm_id = "organization", data.organization.id
    elif data.person is not None:
        customer.crm_entity, customer.crm_id = "person", data.person.id
    checks = [
        Check(
            code=f"mapping_{w.target}",
            severity="warning",
            field=f"customer.{w.target}",
            message=w.message,
        )
        for w in prefill.customer.warnings
    ]
    if linked is not None:
        customer.link_state = "linked"
        customer.contact = contact_out(linked)
        customer.changes = contact_diff(linked, customer.email, customer.address, customer.tax_id)
    elif link is not None:
        checks.append(
            Check(
                code="contact_gone",
                severity="warning",
                field="customer",
                message=f"The linked {meta.label} contact {link.contact_name} no "
                "longer exists; choose or create another.",
            )
        )
    if customer.contact is None and customer.to:
        await suggest_contact(ctx, provider, customer)
    return customer, checks


async def suggest_contact(ctx: InvoiceContext, provider: str, customer: CustomerOut) -> None:
    """Offer the provider's contacts named exactly as the customer; one is chosen."""
    adapter = ctx.adapter(provider)
    found = await ctx.call(provider, lambda c: adapter.search_contacts(c, customer.to or ""))
    exact = [c for c in found.items if c.name.casefold() == (customer.to or "").casefold()]
    customer.suggestions = [contact_out(c) for c in exact]
    if len(exact) == 1:
        customer.link_state = "suggested"
        customer.contact = customer.suggestions[0]
        customer.changes = contact_diff(exact[0], customer.email, customer.address, customer.tax_id)
