"""Every QuickBooks adapter operation against the sandbox stand-in, over real HTTP."""

from __future__ import annotations

import asyncio
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
    GlobalDiscount,
    InvoiceDraft,
    InvoiceLineDraft,
    ItemInput,
    TaxMode,
)
from app.providers.errors import (
    ProviderAuthError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnsupported,
    ProviderValidationError,
)
from app.providers.money import LineInput, qbo_totals
from app.providers.quickbooks import QuickBooksProvider
from app.providers.view import quickbooks_view
from tests.providers.sandbox_flows import QBO_REALM, TEST_RETRY, Connected, connect_quickbooks
from tests.support.sandbox import SandboxControl


@pytest.fixture
async def qbo(
    settings: Settings, sandbox: SandboxControl
) -> AsyncIterator[tuple[QuickBooksProvider, Connected]]:
    async with httpx2.AsyncClient(timeout=30) as http:
        provider = QuickBooksProvider(settings.quickbooks, http, retry=TEST_RETRY)
        yield provider, await connect_quickbooks(settings, sandbox, provider)


def draft(**kw: object) -> InvoiceDraft:
    values: dict[str, object] = {
        "contact_id": "1",
        "issue_date": date.today(),
        "due_date": date.today() + timedelta(days=30),
        "currency": "USD",
        "tax_mode": TaxMode.exclusive,
        "reference": "Pipedrive deal 32",
        "tax_code": "NON",
        "lines": (
            InvoiceLineDraft(description="Annual licence", quantity=D(5), unit_price=D(1200),
                             item_id="3"),
            InvoiceLineDraft(description="Support plan", quantity=D(12), unit_price=D("99.00"),
                             item_id="4"),
        ),
    }  # fmt: skip
    values.update(kw)
    return InvoiceDraft(**values)  # type: ignore[arg-type]


async def test_oauth_flow_refresh_and_revoke(
    qbo: tuple[QuickBooksProvider, Connected],
) -> None:
    provider, connected = qbo
    assert connected.callback["realmId"] == QBO_REALM
    tokens = connected.tokens
    assert tokens.refresh_token and tokens.expires_at > datetime.now(UTC)
    refreshed = await provider.oauth.refresh(tokens.refresh_token)
    assert refreshed.access_token != tokens.access_token
    assert refreshed.refresh_token
    org = await provider.get_organisation(
        Credentials(access_token=refreshed.access_token, tenant_id=QBO_REALM)
    )
    assert org.name == "Northwind Traders US" and org.base_currency == "USD"
    await provider.oauth.revoke(refreshed.refresh_token)
    with pytest.raises(ProviderAuthError) as exc:
        await provider.oauth.refresh(refreshed.refresh_token)
    assert exc.value.reason == "invalid_grant"


async def test_bad_code_is_refused(qbo: tuple[QuickBooksProvider, Connected]) -> None:
    provider, _ = qbo
    with pytest.raises(ProviderAuthError) as exc:
        await provider.oauth.exchange_code(code="nope", redirect_uri="http://x/cb")
    assert exc.value.reason == "invalid_grant"


async def test_lookups(qbo: tuple[QuickBooksProvider, Connected]) -> None:
    provider, connected = qbo
    creds = connected.creds
    features = await provider.get_features(creds)
    assert features.automated_sales_tax and features.tax_option == "single"
    assert not features.templates and not features.line_discount
    currencies = await provider.list_currencies(creds)
    assert currencies[0].code == "USD" and currencies[0].is_base
    # The stand-in has no CompanyCurrency entity: the customers' currencies stand in.
    assert {c.code for c in currencies} >= {"USD", "EUR", "NZD"}
    rates = {r.code: r for r in await provider.list_tax_rates(creds)}
    assert set(rates) >= {"TAX", "NON"}
    accounts = await provider.list_accounts(creds)
    assert {a.id for a in accounts} == {"1", "2", "3", "4"}  # 5 Advertising is an expense
    assert await provider.list_templates(creds) == []


async def test_contacts(qbo: tuple[QuickBooksProvider, Connected]) -> None:
    provider, connected = qbo
    creds = connected.creds
    page = await provider.search_contacts(creds, "globex")
    assert [c.name for c in page.items] == ["Globex Corporation"]
    globex = await provider.get_contact(creds, "1")
    assert globex.email == "gary@globex.test" and globex.currency == "USD"
    key = str(uuid.uuid4())
    made = await provider.create_contact(
        creds,
        ContactInput(name="Umbrella Pty", email="ap@umbrella.test", currency="USD",
                     tax_number="AU-77"),
        idempotency_key=key,
    )  # fmt: skip
    again = await provider.create_contact(
        creds, ContactInput(name="Umbrella Pty"), idempotency_key=key
    )
    assert again.id == made.id  # requestid replayed the first answer
    with pytest.raises(ProviderValidationError) as exc:
        await provider.create_contact(
            creds, ContactInput(name="Umbrella Pty"), idempotency_key=str(uuid.uuid4())
        )
    assert exc.value.field == "name" and exc.value.status_code == 422
    updated = await provider.update_contact(
        creds, made.id, ContactInput(email="billing@umbrella.test", tax_number="AU-78")
    )
    assert updated.email == "billing@umbrella.test" and updated.tax_number == "AU-78"
    assert (await provider.get_contact(creds, made.id)).tax_number == "AU-78"
    with pytest.raises(ProviderNotFound):
        await provider.get_contact(creds, "99999")


async def test_items(qbo: tuple[QuickBooksProvider, Connected]) -> None:
    provider, connected = qbo
    creds = connected.creds
    by_code = await provider.search_items(creds, code="LIC-ANN")
    assert [i.id for i in by_code] == ["3"]
    by_name = await provider.search_items(creds, name="support plan")
    assert [i.id for i in by_name] == ["4"] and by_name[0].code is None
    item = await provider.get_item(creds, "1")
    assert item.name == "Consulting hour" and item.code == "CONS-HR"
    made = await provider.create_item(
        creds,
        ItemInput(name="Hardware kit", code="HW-KIT", unit_price=D("349.95"), account_code="1"),
        idempotency_key=str(uuid.uuid4()),
    )
    assert made.code == "HW-KIT" and made.unit_price == D("349.95")
    changed = await provider.update_item(creds, made.id, ItemInput(unit_price=D("359.95")))
    assert changed.unit_price == D("359.95") and changed.name == "Hardware kit"


async def test_invoice_lifecycle(
    qbo: tuple[QuickBooksProvider, Connected], sandbox: SandboxControl
) -> None:
    provider, connected = qbo
    creds = connected.creds
    request = draft(global_discount=GlobalDiscount(rate=D(5)), bill_email="gary@globex.test")
    invoice = await provider.create_invoice(creds, request, idempotency_key=str(uuid.uuid4()))
    preview = qbo_totals(
        [LineInput(x.quantity, x.unit_price) for x in request.lines],
        TaxMode.exclusive,
        discount_rate=D(5),
    )
    assert invoice.total == preview.total == D("6828.60")
    assert invoice.number and invoice.status == "ACTIVE"
    view = quickbooks_view(invoice, today=date.today())
    assert view.status_label == "Open" and view.allows("VOIDED")
    fetched = await provider.get_invoice(creds, invoice.id)
    assert fetched.total == invoice.total and fetched.contact_id == "1"
    many = await provider.get_invoices(creds, [invoice.id, "1", "2", "424242"])
    assert {i.id for i in many} == {invoice.id, "1", "2"}
    page = await provider.search_invoices(creds, contact_id="1", page_size=2)
    assert len(page.items) == 2 and page.has_more
    rest = await provider.search_invoices(creds, contact_id="1", page=3, page_size=2)
    assert not rest.has_more
    emailed = await provider.email_invoice(creds, invoice.id)
    assert emailed.is_sent
    outbox = (await sandbox.http.get("/_sandbox/quickbooks/outbox")).json()
    assert outbox
    pdf = await provider.invoice_pdf(creds, invoice.id)
    assert pdf.startswith(b"%PDF")
    share = await provider.share_url(creds, invoice.id)
    assert share is None or share.startswith("http")
    for action in (provider.submit_invoice, provider.approve_invoice):
        with pytest.raises(ProviderUnsupported):
            await action(creds, invoice.id)
    voided = await provider.void_invoice(creds, invoice.id)
    assert voided.status == "VOIDED" and voided.total == 0
    assert (await provider.get_invoice(creds, invoice.id)).status == "VOIDED"
    other = await provider.create_invoice(creds, draft(), idempotency_key=str(uuid.uuid4()))
    deleted = await provider.delete_invoice(creds, other.id)
    assert deleted.status == "DELETED"
    with pytest.raises(ProviderNotFound):
        await provider.get_invoice(creds, other.id)
    changes = await provider.changed_invoices(creds, datetime.now(UTC) - timedelta(hours=1))
    assert invoice.id in {i.id for i in changes.invoices}
    assert other.id in changes.deleted_ids


async def test_demo_statuses(qbo: tuple[QuickBooksProvider, Connected]) -> None:
    provider, connected = qbo
    invoices = {i.id: i for i in await provider.get_invoices(connected.creds, ["1", "2", "3", "4"])}
    labels = {k: quickbooks_view(v, today=date.today()).status_label for k, v in invoices.items()}
    assert labels == {"1": "Open", "2": "Partially paid", "3": "Paid", "4": "Overdue"}


async def test_validation_error_reaches_caller_in_plain_words(
    qbo: tuple[QuickBooksProvider, Connected],
) -> None:
    provider, connected = qbo
    with pytest.raises(ProviderValidationError) as exc:
        await provider.create_invoice(
            connected.creds, draft(contact_id="98765"), idempotency_key=str(uuid.uuid4())
        )
    assert exc.value.message and exc.value.status_code == 422


async def test_create_is_exactly_once_under_commit_then_fail(
    qbo: tuple[QuickBooksProvider, Connected], sandbox: SandboxControl
) -> None:
    provider, connected = qbo
    before = await provider.search_invoices(connected.creds, contact_id="2", page_size=100)
    await sandbox.fault(kind="commit_then_fail", path="/invoice$", method="POST", count=1)
    invoice = await provider.create_invoice(
        connected.creds, draft(contact_id="2", currency="EUR"), idempotency_key="deal-33-gen-1"
    )
    after = await provider.search_invoices(connected.creds, contact_id="2", page_size=100)
    assert len(after.items) == len(before.items) + 1
    assert invoice.id in {i.id for i in after.items}
    posts = [r for r in await sandbox.requests("/invoice") if r["method"] == "POST"]
    assert len(posts) == 2  # the failed attempt and its replay


async def test_429_retry_after_is_honoured(
    qbo: tuple[QuickBooksProvider, Connected], sandbox: SandboxControl
) -> None:
    provider, connected = qbo
    await sandbox.fault(kind="rate_limit", path="/companyinfo", retry_after=1, count=1)
    started = asyncio.get_running_loop().time()
    org = await provider.get_organisation(connected.creds)
    assert org.id == QBO_REALM
    assert asyncio.get_running_loop().time() - started >= 0.9
    await sandbox.fault(kind="rate_limit", path="/companyinfo", retry_after=60, count=1)
    with pytest.raises(ProviderRateLimited) as exc:
        await provider.get_organisation(connected.creds)
    assert exc.value.retry_after == 60


async def test_expired_access_token_is_an_auth_error(
    qbo: tuple[QuickBooksProvider, Connected], sandbox: SandboxControl
) -> None:
    provider, connected = qbo
    await sandbox.advance(3700)
    with pytest.raises(ProviderAuthError) as exc:
        await provider.get_invoice(connected.creds, "1")
    assert exc.value.reason == "token_rejected"
