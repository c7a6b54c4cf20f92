"""postInvoice and the invoice endpoints, driven as Pipedrive calls them, for both providers."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update

from app.connections.models import ProviderConnection
from app.connections.oauth import adapters_of
from app.connections.tokens import TokenService
from app.extension import schemas
from app.invoices.flows.claim import request_hash
from app.invoices.models import DealInvoice
from app.invoices.schemas import InvoiceIn
from app.tenants.models import AuditEvent
from tests.extension.helpers import action_ids, fails, invoice, ok


def today() -> str:
    return datetime.now(UTC).date().isoformat()


async def contact_id(pd: Any, link: str, name: str) -> str:
    found = ok(await pd("getSearchContacts", link, params={"name": name}), list[schemas.Contact])
    return next(c.id for c in found if c.displayName == name)


async def product_id(pd: Any, link: str, name: str) -> str:
    found = ok(
        await pd("getSearchProducts", link, params={"name": name, "forceCodeSearch": "false"}),
        list[schemas.Product],
    )
    return next(p.id for p in found if p.name == name)


async def stored(app: Any, company_id: str, provider: str, ids: list[str]) -> dict[str, Any]:
    """The invoices as the provider stores them, read through our adapter."""
    state = app.state
    tokens = TokenService(
        state.settings,
        state.sessionmaker,
        state.http,
        adapters=adapters_of(state, state.settings, state.http),
    )
    adapter = tokens.facade(provider).adapter
    found = await tokens.call(company_id, provider, lambda c: adapter.get_invoices(c, ids))
    return {i.id: i for i in found}


def comparable(inv: Any) -> dict[str, Any]:
    keep = ("contact_id", "currency", "tax_mode", "issue_date", "due_date", "status",
            "subtotal", "total_tax", "total", "amount_due", "template_id")  # fmt: skip
    out = {k: getattr(inv, k) for k in keep}
    out["lines"] = [line.model_dump(exclude={"id"}) for line in inv.lines]
    return out


async def xero_body(pd: Any, link: str) -> dict[str, Any]:
    return {
        "contactId": await contact_id(pd, link, "Acme Ltd"),
        "contactName": "Acme Ltd\nAccounts department",
        "address": "12 Queen Street\nAuckland 1010",
        "email": "accounts@acme.test",
        "taxNumber": "NZ-123-456-789",
        "taxModeId": "Exclusive",
        "currencyId": "NZD",
        "templateId": None,
        "issueDate": f"{today()}T09:30:00.000Z",
        "dueDate": (datetime.now(UTC).date() + timedelta(days=20)).isoformat(),
        "lineItems": [
            {
                # By id only: Xero lines name items by code, looked up for the line.
                "productId": await product_id(pd, link, "Consulting hour"),
                "description": "Consulting hour",
                "quantity": 10,
                "unitPrice": 150,
                "discountRate": 10,
                "taxRateId": "OUTPUT2",
                "accountId": "200",
            },
            {
                "productCode": "LIC-ANN",
                "description": "Annual licence",
                "quantity": 2,
                "unitPrice": 1200,
                "taxRateId": "OUTPUT2",
                "accountId": "200",
            },
            {
                "description": "Travel",
                "quantity": 1,
                "unitPrice": 80.5,
                "taxRateId": "OUTPUT2",
                "accountId": "200",
            },
        ],
    }


async def qbo_body(pd: Any, link: str) -> dict[str, Any]:
    return {
        "contactId": "1",
        "contactName": "Globex Corporation",
        "address": "",
        "email": "gary@globex.test",
        "taxNumber": "",
        "taxModeId": "Exclusive",
        "taxRateId": "TAX",
        "currencyId": "USD",
        "globalDiscount": {"discountAmount": 330, "discountPercentage": 5},
        "issueDate": today(),
        "dueDate": None,
        "lineItems": [
            {"productId": "1", "description": "Consulting hour", "quantity": 10, "unitPrice": 150},
            # By code only: QuickBooks lines name items by id, looked up by Sku.
            {
                "productCode": "LIC-ANN",
                "description": "Annual licence",
                "quantity": 2,
                "unitPrice": 1200,
            },
        ],
    }


def our_api_body(
    provider: str, data: dict[str, Any], items: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """The same invoice as our dialog would send it to POST /api/v1/deals/{id}/invoices."""
    lines = []
    for line in data["lineItems"]:
        ref = line.get("productId") or line.get("productCode")
        item_id, item_code = items.get(ref, (None, None))
        lines.append(
            {
                "description": line["description"],
                "quantity": str(line["quantity"]),
                "unit_price": str(line["unitPrice"]),
                "discount_rate": str(line["discountRate"]) if line.get("discountRate") else None,
                "tax_code": line.get("taxRateId"),
                "account_code": line.get("accountId"),
                "item_id": item_id,
                "item_code": item_code,
                "kind": "product" if item_id or item_code else "manual",
            }
        )
    discount = data.get("globalDiscount")
    return {
        "provider": provider,
        "customer": {
            "contact_id": data["contactId"],
            "email": data["email"] or None,
            "address": data["address"] or None,
            "tax_id": data["taxNumber"] or None,
        },
        "issue_date": data["issueDate"][:10],
        "due_date": data["dueDate"],
        "currency": data["currencyId"],
        "tax_mode": data["taxModeId"],
        "tax_code": data.get("taxRateId"),
        "lines": lines,
        "global_discount": {"rate": str(discount["discountPercentage"])} if discount else None,
    }


async def test_post_invoice_equals_our_api_xero(pd, links, client, northwind, app):
    link = links["xero"]
    data = await xero_body(pd, link)
    created = invoice(await pd("postInvoice", link, json=data))
    assert created.pipedriveStatusCode == "draft"
    assert created.statusCode == "DRAFT" and created.statusLabel == "Draft"
    assert created.contactName == "Acme Ltd" and created.currencyCode == "NZD"
    assert created.invoiceNumber
    # 10 x 150 less 10 %, plus 2 x 1200, plus 80.50 = 3830.50; plus 15 % GST.
    assert created.total == Decimal("4405.08")
    assert created.dueDate == data["dueDate"]
    assert created.id in created.providerInvoiceUrl
    assert created.isShareable is False and created.isSent is False
    assert {"SUBMITTED", "AUTHORISED", "DELETED", "DOWNLOAD"} <= action_ids(created)
    assert not {"VOIDED", "URL", "EMAIL"} & action_ids(created)

    item = data["lineItems"][0]["productId"]
    lic = await product_id(pd, link, "Annual licence")
    items = {item: (item, "CONS-HR"), "LIC-ANN": (lic, "LIC-ANN")}
    ours = await client.post(
        "/api/v1/deals/31/invoices",
        json=our_api_body("xero", data, items),
        headers={**northwind.headers, "Idempotency-Key": "compare-xero"},
    )
    assert ours.status_code == 201, ours.text
    theirs_id = ours.json()["provider_invoice_id"]
    found = await stored(app, northwind.user.company_id, "xero", [created.id, theirs_id])
    assert comparable(found[created.id]) == comparable(found[theirs_id])
    assert found[created.id].lines[0].item_code == "CONS-HR"
    # Ours links to the deal; Pipedrive's names no deal, so it links back to our app (the
    # link carries the intent's marker, which the adapter reads back apart).
    assert found[theirs_id].url.endswith("/deal/31")
    assert found[created.id].url == app.state.settings.public_url
    assert found[created.id].marker and found[theirs_id].marker


async def test_post_invoice_equals_our_api_quickbooks(pd, links, client, northwind, app):
    link = links["quickbooks"]
    data = await qbo_body(pd, link)
    created = invoice(await pd("postInvoice", link, json=data))
    assert created.pipedriveStatusCode == "issued"
    assert created.statusCode == "OPEN"
    assert created.contactName == "Globex Corporation" and created.currencyCode == "USD"
    assert {"VOIDED", "DELETED", "EMAIL", "DOWNLOAD"} <= action_ids(created)
    assert "AUTHORISED" not in action_ids(created)
    ours = await client.post(
        "/api/v1/deals/32/invoices",
        json=our_api_body("quickbooks", data, {"1": ("1", "CONS-HR"), "LIC-ANN": ("3", "LIC-ANN")}),
        headers={**northwind.headers, "Idempotency-Key": "compare-qbo"},
    )
    assert ours.status_code == 201, ours.text
    theirs_id = ours.json()["provider_invoice_id"]
    found = await stored(app, northwind.user.company_id, "quickbooks", [created.id, theirs_id])
    mine, theirs = comparable(found[created.id]), comparable(found[theirs_id])
    assert mine == theirs
    assert found[created.id].lines[1].item_id == "3"
    assert created.total == found[created.id].total


async def test_retried_post_invoice_creates_one(pd, links, sessionmaker, northwind, app):
    link = links["xero"]
    data = await xero_body(pd, link)
    acme = data["contactId"]
    before = await pd("getSearchInvoices", link, params={"customerId": acme, "startDate": today()})
    first = invoice(await pd("postInvoice", link, json=data))
    again = invoice(await pd("postInvoice", link, json=data))
    wrapped = invoice(await pd("postInvoice", link, json={"data": data}))
    assert first.id == again.id == wrapped.id
    racing = await asyncio.gather(*[pd("postInvoice", link, json=data) for _ in range(5)])
    assert {invoice(r).id for r in racing} == {first.id}
    after = await pd("getSearchInvoices", link, params={"customerId": acme, "startDate": today()})
    new = {i.id for i in ok(after, list[schemas.Invoice])} - {
        i.id for i in ok(before, list[schemas.Invoice])
    }
    assert new == {first.id}
    async with sessionmaker() as session:
        rows = (
            (
                await session.execute(
                    select(DealInvoice).where(DealInvoice.provider_invoice_id == first.id)
                )
            )
            .scalars()
            .all()
        )
        audits = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "invoice.created")
        )
    (row,) = rows
    # Pipedrive names no deal: the row has none (not a made-up deal 0).
    assert row.status == "created" and row.deal_id is None
    assert row.created_by_user_id == northwind.user.id
    assert audits == 1
    # A different body is a different invoice.
    other = invoice(await pd("postInvoice", link, json={**data, "dueDate": None}))
    assert other.id != first.id


async def test_post_invoice_new_contact_and_checks(pd, links):
    link = links["xero"]
    data = await xero_body(pd, link)
    fresh = {**data, "contactId": None, "contactName": "Brand New Buyer Ltd\nSecond line"}
    created = invoice(await pd("postInvoice", link, json=fresh))
    assert created.contactName == "Brand New Buyer Ltd"
    found = ok(
        await pd("getSearchContacts", link, params={"name": "Brand New Buyer"}),
        list[schemas.Contact],
    )
    assert [c.displayName for c in found] == ["Brand New Buyer Ltd"]
    # The same checks as our own dialog: an unknown currency, a tax type not for sales.
    fails(await pd("postInvoice", link, json={**data, "currencyId": "XYZ"}), 422, "XYZ")
    bad_tax = {**data, "lineItems": [{**data["lineItems"][2], "taxRateId": "INPUT2"}]}
    fails(await pd("postInvoice", link, json=bad_tax), 422)
    fails(await pd("postInvoice", link, json={**data, "issueDate": "24/11/2026"}), 422, "issueDate")
    fails(await pd("postInvoice", link, json={**data, "taxModeId": "Sideways"}), 422, "taxModeId")
    gone = {**data, "lineItems": [{**data["lineItems"][0], "productId": "no-such-item"}]}
    fails(await pd("postInvoice", link, json=gone), 422, "no-such-item")


async def test_xero_actions_email_share_pdf(pd, links, sessionmaker):
    link = links["xero"]
    created = invoice(await pd("postInvoice", link, json=await xero_body(pd, link)))
    fails(await pd("postInvoiceEmail", link, invoiceId=created.id, json={"id": "EMAIL"}), 409)
    fails(await pd("getInvoiceShareUrl", link, invoiceId=created.id), 409)
    approved = invoice(
        await pd(
            "postInvoiceStatus",
            link,
            invoiceId=created.id,
            json={
                "id": "APPROVE",
                "label": "Approve invoice",
                "providerAction": "changeInvoiceStatus",
            },
        )
    )
    assert approved.pipedriveStatusCode == "issued" and approved.statusCode == "AUTHORISED"
    assert {"VOIDED", "EMAIL", "URL", "DOWNLOAD"} <= action_ids(approved)
    assert not {"AUTHORISED", "SUBMITTED", "DELETED"} & action_ids(approved)
    assert approved.isShareable is True
    # Approving it again (a repeat whose answer was lost) is answered as done.
    again = invoice(
        await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "APPROVE"})
    )
    assert again.statusCode == "AUTHORISED" and again.id == approved.id
    fails(await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "FLY"}), 422)
    sent = invoice(await pd("postInvoiceEmail", link, invoiceId=created.id, json={"id": "EMAIL"}))
    assert sent.isSent is True
    share = ok(await pd("getInvoiceShareUrl", link, invoiceId=created.id), schemas.LinkAuthURL)
    assert share.url.startswith("http")
    pdf = await pd("getInvoicePDF", link, invoiceId=created.id)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert (
        pdf.headers["content-disposition"] == f'attachment; filename="{created.invoiceNumber}.pdf"'
    )
    assert pdf.content.startswith(b"%PDF")
    voided = invoice(
        await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "VOIDED"})
    )
    assert voided.pipedriveStatusCode == "voided"
    assert "VOIDED" not in action_ids(voided) and "EMAIL" not in action_ids(voided)
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(DealInvoice).where(DealInvoice.provider_invoice_id == created.id)
            )
        ).scalar_one()
        actions = (
            (
                await session.execute(
                    select(AuditEvent.action).where(AuditEvent.action.like("invoice.%"))
                )
            )
            .scalars()
            .all()
        )
    assert row.provider_status == "VOIDED"
    assert sorted(actions) == sorted(
        ["invoice.created", "invoice.approved", "invoice.emailed", "invoice.voided"]
    )


async def test_xero_submit_and_delete_draft(pd, links):
    link = links["xero"]
    body = await xero_body(pd, link)
    created = invoice(await pd("postInvoice", link, json={**body, "dueDate": None}))
    submitted = invoice(
        await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "SUBMITTED"})
    )
    assert submitted.pipedriveStatusCode == "created" and submitted.statusCode == "SUBMITTED"
    deleted = invoice(
        await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "DELETED"})
    )
    assert deleted.pipedriveStatusCode == "deleted"
    assert action_ids(deleted) == set()
    fails(await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "VOIDED"}), 409)
    fails(await pd("getInvoicePDF", link, invoiceId="00000000-0000-0000-0000-000000000000"), 404)


async def test_quickbooks_actions(pd, links):
    link = links["quickbooks"]
    created = invoice(await pd("postInvoice", link, json=await qbo_body(pd, link)))
    fails(await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "APPROVE"}), 409)
    sent = invoice(await pd("postInvoiceEmail", link, invoiceId=created.id, json={"id": "EMAIL"}))
    assert sent.isSent is True
    pdf = await pd("getInvoicePDF", link, invoiceId=created.id)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (
        pdf.headers["content-disposition"] == f'attachment; filename="{created.invoiceNumber}.pdf"'
    )
    voided = invoice(await pd("postInvoiceStatus", link, invoiceId=created.id, json={"id": "VOID"}))
    assert voided.pipedriveStatusCode == "voided" and voided.total == 0
    second = invoice(
        await pd("postInvoice", link, json={**(await qbo_body(pd, link)), "dueDate": today()})
    )
    deleted = invoice(
        await pd("postInvoiceStatus", link, invoiceId=second.id, json={"id": "DELETED"})
    )
    assert deleted.pipedriveStatusCode == "deleted"
    # Seeded invoice 1 (open, online payment on): its customer link.
    share = ok(await pd("getInvoiceShareUrl", link, invoiceId="1"), schemas.LinkAuthURL)
    assert share.url.startswith("http")
    # Seeded invoice 2 is partially paid: void is not offered.
    fails(
        await pd("postInvoiceStatus", link, invoiceId="2", json={"id": "VOIDED"}), 409, "Partially"
    )


async def test_search_invoices(pd, links):
    link = links["quickbooks"]
    by_ids = ok(
        await pd("getSearchInvoices", link, params={"ids": "1,2,3,4"}), list[schemas.Invoice]
    )
    by = {i.id: i for i in by_ids}
    assert set(by) == {"1", "2", "3", "4"}
    assert by["1"].pipedriveStatusCode == "issued"
    assert by["2"].pipedriveStatusCode == "partiallyPaid"
    assert by["2"].paidAmount == 500 and by["2"].dueAmount == by["2"].total - 500
    assert by["3"].pipedriveStatusCode == "paid" and by["3"].dueAmount == 0
    assert by["4"].statusCode == "OVERDUE"
    start = (datetime.now(UTC).date() - timedelta(days=60)).isoformat()
    customer = ok(
        await pd(
            "getSearchInvoices", link, params={"customerId": "1", "startDate": start, "page": 1}
        ),
        list[schemas.Invoice],
    )
    assert {"1", "2", "3", "4"} <= {i.id for i in customer}
    recent = ok(
        await pd(
            "getSearchInvoices",
            link,
            params={
                "customerId": "1",
                "startDate": start,
                "endDate": (datetime.now(UTC).date() - timedelta(days=40)).isoformat(),
            },
        ),
        list[schemas.Invoice],
    )
    assert [i.id for i in recent] == ["4"]
    empty = ok(
        await pd(
            "getSearchInvoices", link, params={"customerId": "1", "startDate": start, "page": 50}
        ),
        list[schemas.Invoice],
    )
    assert empty == []
    fails(await pd("getSearchInvoices", link), 422)
    xero = ok(
        await pd(
            "getSearchInvoices",
            links["xero"],
            params={
                "customerId": await contact_id(pd, links["xero"], "Acme Ltd"),
                "startDate": "2000-01-01",
            },
        ),
        list[schemas.Invoice],
    )
    assert {"draft", "issued", "paid", "voided"} <= {i.pipedriveStatusCode for i in xero}


async def test_invoice_summary(pd, links):
    link = links["quickbooks"]
    start = (datetime.now(UTC).date() - timedelta(days=60)).isoformat()
    end = today()
    response = await pd(
        "getInvoiceSummary", link, params={"contactId": "1", "from": start, "to": end}
    )
    (row,) = ok(response, list[schemas.SummaryRow])
    assert set(response.json()["data"][0]) == {
        "currency",
        "outstanding",
        "overdue",
        "paid",
        "total",
    }
    assert row.currency == "USD"
    assert row.overdue > 0 and row.paid > 0 and row.outstanding > 0
    assert row.total == row.outstanding + row.overdue + row.paid
    swapped = await pd(
        "getInvoiceSummary",
        link,
        params={"contactId": "1", "to": start, "from": end, "refresh": "true"},
    )
    assert ok(swapped, list[schemas.SummaryRow]) == [row]
    narrow = ok(
        await pd(
            "getInvoiceSummary",
            link,
            params={
                "contactId": "1",
                "from": start,
                "to": (datetime.now(UTC).date() - timedelta(days=40)).isoformat(),
            },
        ),
        list[schemas.SummaryRow],
    )
    assert narrow[0].overdue == narrow[0].total and narrow[0].outstanding == 0
    fails(await pd("getInvoiceSummary", link), 422, "contactId")
    xero = ok(
        await pd(
            "getInvoiceSummary",
            links["xero"],
            params={"contactId": await contact_id(pd, links["xero"], "Acme Ltd")},
        ),
        list[schemas.SummaryRow],
    )
    assert [r.currency for r in xero] == ["NZD"] and xero[0].paid > 0


async def test_quickbooks_new_customer_in_the_invoice_currency(pd, links):
    link = links["quickbooks"]
    data = await qbo_body(pd, link)
    fresh = {**data, "contactId": None, "contactName": "Euro Buyer GmbH", "currencyId": "EUR"}
    created = invoice(await pd("postInvoice", link, json=fresh))
    assert created.currencyCode == "EUR" and created.contactName == "Euro Buyer GmbH"
    (made,) = ok(
        await pd("getSearchContacts", link, params={"name": "Euro Buyer"}), list[schemas.Contact]
    )
    assert made.email == "gary@globex.test"
    # An existing USD customer invoiced in EUR: refused in plain words, nothing recorded.
    fails(await pd("postInvoice", link, json={**data, "currencyId": "EUR"}), 422, "currency")


async def test_post_invoice_sends_no_deal_url_and_keeps_deal_invoices_hash(
    pd, links, sandbox, client, northwind
):
    await sandbox.clear_requests()
    link = links["xero"]
    created = invoice(await pd("postInvoice", link, json=await xero_body(pd, link)))
    posts = [
        r for r in await sandbox.requests("/api.xro/2.0/Invoices") if r["method"] in ("PUT", "POST")
    ]
    assert posts, "the invoice was created at the sandbox Xero"
    # No deal: the provider invoice carries no link to a deal (nor to deal 0).
    assert all("/deal/" not in r["body"] for r in posts)
    assert created.id
    # Our own API's invoices still hash exactly as before (deal id and body).
    body = InvoiceIn(
        provider="xero",
        customer={"contact_id": "c-1"},
        issue_date="2026-11-24",
        currency="NZD",
        tax_mode="Exclusive",
        lines=[{"description": "x", "quantity": 1, "unit_price": "1.00"}],
    )
    # As before fields were added to the body: a later field at its default is left out.
    before = body.model_dump(mode="json")
    before.pop("invoice_number")
    before.pop("accept_tax_difference")
    before.pop("part")
    for line in before["lines"]:
        line.pop("deal_tax_rate")
    expected = hashlib.sha256(
        json.dumps({"deal_id": 31, "body": before}, sort_keys=True).encode()
    ).hexdigest()
    assert request_hash(31, body) == expected
    # A later field set to something else is part of the digest.
    assert request_hash(31, body.model_copy(update={"invoice_number": "PD-1"})) != expected


async def test_approve_follows_the_connections_xero_role(pd, links, sessionmaker, northwind):
    link = links["xero"]
    data = await xero_body(pd, link)
    allowed = invoice(await pd("postInvoice", link, json=data))
    assert "AUTHORISED" in action_ids(allowed)  # nora is STANDARD
    async with sessionmaker() as session:
        await session.execute(
            update(ProviderConnection)
            .where(
                ProviderConnection.company_id == northwind.user.company_id,
                ProviderConnection.provider == "xero",
            )
            .values(provider_role="INVOICEONLY")
        )
        await session.commit()
    refused = invoice(await pd("postInvoice", link, json={**data, "dueDate": None}))
    assert "AUTHORISED" not in action_ids(refused) and "SUBMITTED" in action_ids(refused)
    fails(
        await pd(
            "postInvoiceStatus",
            link,
            invoiceId=refused.id,
            json={"id": "APPROVE", "label": "Approve", "providerAction": "changeInvoiceStatus"},
        ),
        409,
    )
