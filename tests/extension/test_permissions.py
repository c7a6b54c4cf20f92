"""Pipedrive's Invoicing extension follows the permissions of the Pipedrive user it acts for
(the link's user): offered actions and refusals (403 naming the permission), under each role."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from app.extension.models import InvoicingLink
from tests.extension.helpers import action_ids, fails, invoice
from tests.extension.test_invoices import xero_body
from tests.invoices.conftest import installed


async def acting_for(sessionmaker: Any, link: str, user_id: str) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(InvoicingLink).where(InvoicingLink.link_id == link).values(user_id=user_id)
        )
        await session.commit()


async def test_acting_for_an_admin_everything(pd, links):
    link = links["xero"]
    created = invoice(await pd("postInvoice", link, json=await xero_body(pd, link)))
    assert {"SUBMITTED", "AUTHORISED", "DELETED"} <= action_ids(created)
    approved = invoice(
        await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "AUTHORISED"})
    )
    assert approved.statusCode == "AUTHORISED"


async def test_acting_for_a_regular_user_no_approve_or_delete(
    pd, links, client, sandbox, sessionmaker
):
    link = links["xero"]
    sam = await installed(client, sandbox, sessionmaker, 102)
    await acting_for(sessionmaker, link, sam.user.id)
    created = invoice(await pd("postInvoice", link, json=await xero_body(pd, link)))
    assert "SUBMITTED" in action_ids(created)
    assert not action_ids(created) & {"AUTHORISED", "DELETED"}
    found = await pd("getSearchInvoices", link, params={"ids": created.id})
    assert found.status_code == 200
    assert not {a["id"] for a in found.json()["data"][0]["actions"]} & {"AUTHORISED", "DELETED"}
    for action, permission in (("AUTHORISED", "approve"), ("DELETED", "delete")):
        refused = await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": action})
        fails(refused, 403, f"lacks the {permission} permission")
    submitted = invoice(
        await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "SUBMITTED"})
    )
    assert submitted.statusCode == "SUBMITTED"
    emailed = invoice(await pd("postInvoiceEmail", link, invoiceId=created.id))
    assert emailed.statusCode == "SUBMITTED"


async def test_an_admin_role_restricted_by_the_admins(pd, links, client, northwind):
    link = links["xero"]
    created = invoice(await pd("postInvoice", link, json=await xero_body(pd, link)))
    restricted = await client.put(
        "/api/v1/permissions/roles/admin",
        json={"permissions": ["submit", "preferences"]},
        headers=northwind.headers,
    )
    assert restricted.status_code == 200
    fails(await pd("postInvoice", link, json=await xero_body(pd, link)), 403, "create permission")
    fails(await pd("postInvoiceEmail", link, invoiceId=created.id), 403, "email permission")
    fails(
        await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "VOIDED"}),
        403,
        "void permission",
    )
