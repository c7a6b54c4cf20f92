"""Every Xero adapter operation against the sandbox stand-in, over real HTTP.

Request bodies are also checked against Xero's official OpenAPI (see test_xero_client.py);
here the point is behaviour end to end: OAuth, tenants, roles, status transitions, totals,
idempotency under an injected failure, and rate limits.
"""

from __future__ import annotations

import asyncio
import importlib.util
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import httpx2
import pytest

from app.config import Settings
from app.providers.base import (
    ContactInput,
    Credentials,
    InvoiceDraft,
    InvoiceLineDraft,
    ItemInput,
    TaxMode,
)
from app.providers.errors import (
    ProviderAuthError,
    ProviderConflict,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderValidationError,
)
from app.providers.money import LineInput, xero_totals
from app.providers.view import xero_view
from app.providers.xero import XeroProvider
from app.providers.xero.spec import role_can_approve
from tests.providers.sandbox_flows import TEST_RETRY, XERO_AU, XERO_NZ, Connected, connect_xero
from tests.support.sandbox import SandboxControl

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sandbox.xero") is None,
    reason="the Xero stand-in (sandbox/xero) has not landed on this branch yet",
)


@pytest.fixture
async def xero(
    settings: Settings, sandbox: SandboxControl
) -> AsyncIterator[tuple[XeroProvider, Connected]]:
    async with httpx2.AsyncClient(timeout=30) as http:
        provider = XeroProvider(settings.xero, http, retry=TEST_RETRY)
        yield provider, await connect_xero(settings, sandbox, provider)


async def acme_id(provider: XeroProvider, creds: Credentials) -> str:
    page = await provider.search_contacts(creds, "Acme")
    return next(c.id for c in page.items if c.name == "Acme Ltd")


def draft(contact_id: str, **kw: object) -> InvoiceDraft:
    values: dict[str, object] = {
        "contact_id": contact_id,
        "issue_date": date.today(),
        "due_date": date.today() + timedelta(days=7),
        "currency": "NZD",
        "tax_mode": TaxMode.exclusive,
        "reference": "Pipedrive deal 31",
        "url": "https://crm.example/deals/31",
        "lines": (
            InvoiceLineDraft(description="Consulting hour", quantity=D(10), unit_price=D(150),
                             item_code="CONS-HR", discount_rate=D(10), tax_code="OUTPUT2",
                             account_code="200"),
            InvoiceLineDraft(description="Implementation package", quantity=D(1),
                             unit_price=D(2500), item_code="IMPL-PKG", discount_amount=D(200),
                             tax_code="OUTPUT2", account_code="200"),
            InvoiceLineDraft(description="Odd price", quantity=D(3), unit_price=D("25.0567"),
                             tax_code="OUTPUT2", account_code="200"),
        ),
    }  # fmt: skip
    values.update(kw)
    return InvoiceDraft(**values)  # type: ignore[arg-type]


async def test_oauth_tenants_identity_and_revoke(xero: tuple[XeroProvider, Connected]) -> None:
    provider, connected = xero
    tokens = connected.tokens
    assert tokens.refresh_token and tokens.id_token
    identity = provider.oauth.identity(tokens.id_token)
    assert identity.email == "nora@northwind.test"
    connections = await provider.oauth.connections(tokens.access_token)
    assert {c.tenant_id for c in connections} == {XERO_NZ, XERO_AU}
    assert {c.tenant_name for c in connections} == {"Northwind Traders NZ", "Northwind Demo AU"}
    refreshed = await provider.oauth.refresh(tokens.refresh_token)
    assert refreshed.refresh_token and refreshed.refresh_token != tokens.refresh_token
    au = next(c for c in connections if c.tenant_id == XERO_AU)
    await provider.oauth.delete_connection(refreshed.access_token, au.id)
    left = await provider.oauth.connections(refreshed.access_token)
    assert [c.tenant_id for c in left] == [XERO_NZ]
    await provider.oauth.revoke(refreshed.refresh_token)
    with pytest.raises(ProviderAuthError) as exc:
        await provider.oauth.refresh(refreshed.refresh_token)
    assert exc.value.reason == "invalid_grant"


async def test_organisation_users_and_lookups(xero: tuple[XeroProvider, Connected]) -> None:
    provider, connected = xero
    creds = connected.creds
    org = await provider.get_organisation(creds)
    assert (org.id, org.name, org.base_currency, org.short_code) == (
        XERO_NZ, "Northwind Traders NZ", "NZD", "!NwT01")  # fmt: skip
    users = {u.email: u.role for u in await provider.list_users(creds)}
    assert users["nora@northwind.test"] == "STANDARD"
    assert not role_can_approve(users["ivan@northwind.test"])
    currencies = await provider.list_currencies(creds)
    assert currencies[0].code == "NZD" and currencies[0].is_base
    assert {c.code for c in currencies} == {"NZD", "USD", "EUR"}
    rates = {r.code: r.rate for r in await provider.list_tax_rates(creds)}
    assert rates["OUTPUT2"] == D(15) and "INPUT2" not in rates
    assert {a.code for a in await provider.list_accounts(creds)} == {"200", "260"}
    templates = await provider.list_templates(creds)
    assert [(t.name, t.is_default) for t in templates] == [
        ("Standard", True), ("Special Projects", False)]  # fmt: skip
    au = await provider.get_organisation(Credentials(access_token=creds.access_token,
                                                     tenant_id=XERO_AU))  # fmt: skip
    assert au.base_currency == "AUD"


async def test_contacts(xero: tuple[XeroProvider, Connected]) -> None:
    provider, connected = xero
    creds = connected.creds
    acme = await provider.get_contact(creds, await acme_id(provider, creds))
    assert acme.email == "accounts@acme.test"
    key = str(uuid.uuid4())
    made = await provider.create_contact(
        creds, ContactInput(name="Initech GmbH", email="ina@initech.test", tax_number="DE123456789",
                            external_ref="pd-org-13", currency="EUR"),
        idempotency_key=key,
    )  # fmt: skip
    assert made.tax_number == "DE123456789" and made.external_ref == "pd-org-13"
    replay = await provider.create_contact(
        creds, ContactInput(name="Initech GmbH"), idempotency_key=key
    )
    assert replay.id == made.id
    with pytest.raises(ProviderValidationError) as exc:
        await provider.create_contact(
            creds, ContactInput(name="Initech GmbH"), idempotency_key=str(uuid.uuid4())
        )
    assert exc.value.field == "name" and exc.value.status_code == 422
    updated = await provider.update_contact(creds, made.id, ContactInput(email="ap@initech.test"))
    assert updated.email == "ap@initech.test" and updated.name == "Initech GmbH"
    with pytest.raises(ProviderNotFound):
        await provider.get_contact(creds, str(uuid.uuid4()))


async def test_items(xero: tuple[XeroProvider, Connected]) -> None:
    provider, connected = xero
    creds = connected.creds
    (cons,) = await provider.search_items(creds, code="cons-hr")
    assert cons.code == "CONS-HR"
    assert [i.code for i in await provider.search_items(creds, name="Support plan")] == [
        "SUP-MONTHLY"]  # fmt: skip
    assert await provider.search_items(creds, code="HW-KIT") == []
    made = await provider.create_item(
        creds, ItemInput(code="HW-KIT", name="Hardware kit", unit_price=D("349.9512"),
                         account_code="200", tax_code="OUTPUT2"),
        idempotency_key=str(uuid.uuid4()),
    )  # fmt: skip
    assert made.unit_price == D("349.9512")  # four places kept with unitdp=4
    assert (await provider.get_item(creds, made.id)).code == "HW-KIT"
    changed = await provider.update_item(creds, made.id, ItemInput(unit_price=D("359.95")))
    assert changed.unit_price == D("359.95") and changed.code == "HW-KIT"


async def test_invoice_lifecycle_and_totals(
    xero: tuple[XeroProvider, Connected], sandbox: SandboxControl
) -> None:
    provider, connected = xero
    creds = connected.creds
    contact = await acme_id(provider, creds)
    request = draft(contact)
    invoice = await provider.create_invoice(creds, request, idempotency_key=str(uuid.uuid4()))
    preview = xero_totals(
        [LineInput(x.quantity, x.unit_price, D(15), x.discount_rate, x.discount_amount)
         for x in request.lines],
        TaxMode.exclusive,
    )  # fmt: skip
    assert (invoice.subtotal, invoice.total_tax, invoice.total) == (
        preview.subtotal, preview.tax, preview.total)  # fmt: skip
    assert [line.amount for line in invoice.lines] == [x.amount for x in preview.lines]
    assert invoice.status == "DRAFT" and invoice.number
    org = await provider.get_organisation(creds)
    assert "shortcode=!NwT01" in provider.invoice_url(org, invoice.id)
    fetched = await provider.get_invoice(creds, invoice.id)
    assert fetched.lines[2].unit_price == D("25.0567") and fetched.url == request.url
    assert {i.id for i in await provider.get_invoices(creds, [invoice.id, str(uuid.uuid4())])} == {
        invoice.id}  # fmt: skip
    page = await provider.search_invoices(creds, contact_id=contact, date_from=date.today())
    assert invoice.id in {i.id for i in page.items}
    assert (await provider.share_url(creds, invoice.id)) is None  # drafts are not online
    submitted = await provider.submit_invoice(creds, invoice.id)
    assert xero_view(submitted, today=date.today(), can_approve=True).status_label == (
        "Awaiting approval")  # fmt: skip
    approved = await provider.approve_invoice(creds, invoice.id)
    assert approved.status == "AUTHORISED"
    emailed = await provider.email_invoice(creds, invoice.id)
    assert emailed.is_sent or emailed.status == "AUTHORISED"
    assert (await provider.invoice_pdf(creds, invoice.id)).startswith(b"%PDF")
    assert (await provider.share_url(creds, invoice.id) or "").startswith("http")
    with pytest.raises(ProviderConflict):
        await provider.delete_invoice(creds, invoice.id)  # only drafts may be deleted
    voided = await provider.void_invoice(creds, invoice.id)
    assert voided.status == "VOIDED"
    other = await provider.create_invoice(creds, draft(contact), idempotency_key=str(uuid.uuid4()))
    assert (await provider.delete_invoice(creds, other.id)).status == "DELETED"
    changes = await provider.changed_invoices(creds, datetime.now(UTC) - timedelta(hours=1))
    assert invoice.id in {i.id for i in changes.invoices}
    assert other.id in changes.deleted_ids


async def test_demo_statuses(xero: tuple[XeroProvider, Connected]) -> None:
    provider, connected = xero
    contact = await acme_id(provider, connected.creds)
    page = await provider.search_invoices(connected.creds, contact_id=contact)
    labels = {xero_view(i, today=date.today(), can_approve=True).status_label for i in page.items}
    assert labels >= {"Draft", "Awaiting payment", "Paid", "Voided"}


async def test_validation_errors_in_plain_words(xero: tuple[XeroProvider, Connected]) -> None:
    provider, connected = xero
    contact = await acme_id(provider, connected.creds)
    with pytest.raises(ProviderValidationError) as exc:
        await provider.create_invoice(
            connected.creds, draft(contact, currency="JPY"), idempotency_key=str(uuid.uuid4())
        )
    assert exc.value.field == "currency" and "JPY" in exc.value.message


async def test_create_is_exactly_once_under_commit_then_fail(
    xero: tuple[XeroProvider, Connected], sandbox: SandboxControl
) -> None:
    provider, connected = xero
    contact = await acme_id(provider, connected.creds)
    before = await provider.search_invoices(connected.creds, contact_id=contact)
    await sandbox.fault(kind="commit_then_fail", path="/Invoices$", method="PUT", count=1)
    invoice = await provider.create_invoice(
        connected.creds, draft(contact), idempotency_key="deal-31-gen-1"
    )
    after = await provider.search_invoices(connected.creds, contact_id=contact)
    assert len(after.items) == len(before.items) + 1
    assert invoice.id in {i.id for i in after.items}
    puts = [r for r in await sandbox.requests("/Invoices") if r["method"] == "PUT"]
    assert len(puts) == 2


async def test_rate_limits(xero: tuple[XeroProvider, Connected], sandbox: SandboxControl) -> None:
    provider, connected = xero
    await sandbox.fault(kind="rate_limit", path="/Organisation", retry_after=1, count=1)
    started = asyncio.get_running_loop().time()
    assert (await provider.get_organisation(connected.creds)).id == XERO_NZ
    assert asyncio.get_running_loop().time() - started >= 0.9
    await sandbox.clear_requests()
    await sandbox.fault(
        kind="rate_limit", path="/Organisation", retry_after=1, problem="day", count=1
    )
    with pytest.raises(ProviderRateLimited) as exc:
        await provider.get_organisation(connected.creds)
    assert exc.value.daily
    assert len(await sandbox.requests("/Organisation")) == 1


async def test_invoice_only_user_cannot_approve(
    settings: Settings, sandbox: SandboxControl
) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        provider = XeroProvider(settings.xero, http, retry=TEST_RETRY)
        connected = await connect_xero(
            settings, sandbox, provider, email="ivan@northwind.test", tenant_ids=(XERO_NZ,)
        )
        assert connected.tokens.id_token
        identity = provider.oauth.identity(connected.tokens.id_token)
        users = {u.email: u.role for u in await provider.list_users(connected.creds)}
        assert users[identity.email or ""] == "INVOICEONLY"
        assert not role_can_approve(users[identity.email or ""])
