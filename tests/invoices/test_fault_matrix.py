"""The fault matrix: every fault a provider call can meet, on every action that changes an
invoice at the provider (create, void, email; Xero and QuickBooks), ends in exactly one effect
there.

Each cell injects one fault on the provider request the action makes (once, or as many times as
our Transport tries; then it expires), performs the action through our own HTTP API (create:
``POST /api/v1/deals/{id}/invoices`` and email: ``POST .../invoices/{id}/actions/EMAIL``, each
with an Idempotency-Key; void: the Invoicing extension's postInvoiceStatus), repeats the
same request while our answer is one the docs call retryable (429, 502, 503), and then counts
the effect at the sandbox: new invoices at the provider, voids the stand-in performed, emails in
its outbox. docs/invoices.md ("Fault matrix") lists the cells and the known gaps.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from app.connections.tokens import TokenService
from app.invoices.models import DealInvoice
from app.kit.http import RetryPolicy
from app.providers import ProviderName, QuickBooksProvider, XeroProvider
from tests.extension.conftest import Caller, links, pd  # noqa: F401 - fixtures
from tests.invoices.conftest import Company
from tests.invoices.helpers import body, create, draft

DEAL = 31
# Our answers a caller may repeat as they are (docs/invoices.md, docs/pipedrive-invoicing.md).
RETRYABLE = {429, 502, 503}
ATTEMPTS = 4
# Long enough for any sandbox answer on a busy machine, short enough that the injected
# timeouts (the sandbox never answers) cost little. Every write carries an idempotency key,
# so a spurious timeout is only a retry.
READ_TIMEOUT = 0.3
# The app's retry policy with the waits scaled down: a 60 s Retry-After holds the tenant 0.3 s.
FAST = RetryPolicy(attempts=4, wait_scale=0.005)

# Fault name -> the sandbox fault spec (sandbox/faults.py). A fault hits ``count`` matching
# requests, then expires.
FAULTS: dict[str, dict[str, Any]] = {
    # The provider never performs the request and never answers: our read times out.
    "timeout": {"kind": "timeout", "count": 1},
    # The provider commits, then never answers.
    "commit_then_timeout": {"kind": "commit_then_timeout", "count": 1},
    # The provider commits, then the connection is cut mid-answer.
    "commit_then_reset": {"kind": "commit_then_fail", "count": 1},
    "status_500": {"kind": "status", "status": 500, "count": 1},
    # Cut mid-answer without performing the request.
    "reset": {"kind": "drop", "count": 1},
    # Longer than the interactive policy waits in place: surfaced to our caller as a 429.
    "rate_limit": {"kind": "rate_limit", "retry_after": 60, "count": 1},
    # Outlasting every attempt of our Transport, so our caller gets the error and repeats.
    "status_500_persistent": {"kind": "status", "status": 500, "count": FAST.attempts},
    "commit_then_reset_persistent": {"kind": "commit_then_fail", "count": FAST.attempts},
}
# Faults whose request the stand-in performed (the others it never saw, or refused).
PERFORMED = (None, "commit_then_fail", "commit_then_timeout")

# (provider, action) -> (method, path regex) of the one provider request the action makes.
TARGETS: dict[tuple[str, str], tuple[str, str]] = {
    ("xero", "create"): ("PUT", r"/Invoices$"),
    ("xero", "void"): ("POST", r"/Invoices/[0-9a-f-]+$"),
    ("xero", "email"): ("POST", r"/Invoices/[0-9a-f-]+/Email$"),
    ("quickbooks", "create"): ("POST", r"/invoice$"),
    # QuickBooks voids with POST /invoice?operation=void.
    ("quickbooks", "void"): ("POST", r"/invoice$"),
    ("quickbooks", "email"): ("POST", r"/invoice/\d+/send$"),
}


@dataclass
class World:
    client: Any
    sandbox: Any
    company: Company
    pd: Caller
    links: dict[str, str]
    tokens: TokenService
    sessionmaker: Any


@pytest.fixture
async def world(
    app: Any,
    settings: Any,
    client: Any,
    sandbox: Any,
    sessionmaker: Any,
    northwind: Company,
    pd: Caller,  # noqa: F811
    links: dict[str, str],  # noqa: F811
) -> AsyncIterator[World]:
    """Northwind connected to both providers, its adapters on a short read timeout."""
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(READ_TIMEOUT)) as http:
        app.state.providers = {
            ProviderName.xero: XeroProvider(settings.xero, http, retry=FAST),
            # With QuickBooks' own 10 calls a second: the stand-in refuses an 11th in a second
            # as QuickBooks does, and the matrix is about the injected faults, not those.
            ProviderName.quickbooks: QuickBooksProvider(settings.quickbooks, http, retry=FAST),
        }
        # Reads the outcome with the app's ordinary adapters and HTTP client.
        tokens = TokenService(settings, sessionmaker, app.state.http)
        try:
            yield World(client, sandbox, northwind, pd, links, tokens, sessionmaker)
        finally:
            app.state.providers = None


async def retried(call: Callable[[], Awaitable[Any]]) -> tuple[Any, list[int]]:
    """``call`` repeated while our answer is a retryable error, at most ATTEMPTS times."""
    statuses: list[int] = []
    for _ in range(ATTEMPTS):
        response = await call()
        statuses.append(response.status_code)
        if response.status_code not in RETRYABLE:
            break
    return response, statuses


def check_answers(action: str, fault: str, statuses: list[int]) -> None:
    """What our caller heard: a passing fault is retried inside our Transport (one answer, a
    success); a 429 the Transport will not wait out is surfaced with its status; a fault
    outlasting the Transport is our 503 (void, email; a create may find its invoice first)."""
    if fault == "rate_limit":
        assert statuses[0] == 429, statuses
    elif FAULTS[fault]["count"] == 1:
        assert len(statuses) == 1, statuses
    elif action != "create":
        assert statuses[0] == 503, statuses


async def inject(w: World, provider: str, action: str, fault: str) -> None:
    method, path = TARGETS[(provider, action)]
    await w.sandbox.clear_requests()
    await w.sandbox.fault(**FAULTS[fault], method=method, path=path)


async def performed(w: World, provider: str, action: str, fault: str) -> list[dict[str, Any]]:
    """The action's requests the stand-in performed. The injected fault must have hit one of
    them (else the cell tested nothing) and must have expired."""
    method, path = TARGETS[(provider, action)]
    hits = [
        r
        for r in await w.sandbox.requests()
        if r["method"] == method and re.search(path, r["path"])
    ]
    spec = FAULTS[fault]
    assert [r["fault"] for r in hits if r["fault"]] == [spec["kind"]] * spec["count"], hits
    assert (await w.sandbox.http.get("/_sandbox/faults")).json() == []
    return [r for r in hits if r["fault"] in PERFORMED and (r["status"] < 400)]


def request_key(provider: str, entry: dict[str, Any]) -> str:
    """The idempotency key of a logged request: the same key is one effect (a replay)."""
    if provider == "xero":
        return str(entry["headers"].get("idempotency-key"))
    found = [p for p in entry["query"].split("&") if p.startswith("requestid=")]
    return found[0] if found else ""


async def provider_call(w: World, provider: str, fn: Callable[[Any, Any], Any]) -> Any:
    adapter = w.tokens.facade(provider).adapter
    return await w.tokens.call(w.company.user.company_id, provider, lambda c: fn(adapter, c))


async def invoice_ids(w: World, provider: str, contact_id: str) -> set[str]:
    page = await provider_call(
        w, provider, lambda a, c: a.search_invoices(c, contact_id=contact_id)
    )
    return {i.id for i in page.items}


async def made_invoice(w: World, provider: str, *, approve: bool) -> tuple[str, str]:
    """An invoice of the deal created through our API (approved in Xero, to be voidable and
    emailable): its provider id and our id."""
    d = await draft(w.client, w.company.headers, DEAL, provider)
    made = await create(w.client, w.company.headers, DEAL, body(d))
    assert made.status_code == 201, made.text
    invoice_id = str(made.json()["provider_invoice_id"])
    if approve:
        approved = await w.pd(
            "postInvoiceStatus", w.links[provider], invoiceId=invoice_id, json={"id": "APPROVE"}
        )
        assert approved.status_code == 200, approved.text
    return invoice_id, str(made.json()["id"])


CELLS = [
    pytest.param(
        provider,
        action,
        fault,
        id=f"{provider}-{action}-{fault}",
    )
    for provider in ("xero", "quickbooks")
    for action in ("create", "void", "email")
    for fault in FAULTS
]


@pytest.mark.parametrize(("provider", "action", "fault"), CELLS)
async def test_one_effect(world: World, provider: str, action: str, fault: str) -> None:
    if action == "create":
        await create_once(world, provider, fault)
    elif action == "void":
        await void_once(world, provider, fault)
    else:
        await email_once(world, provider, fault)


async def create_once(w: World, provider: str, fault: str) -> None:
    d = await draft(w.client, w.company.headers, DEAL, provider)
    contact_id = d.customer.contact.id
    before = await invoice_ids(w, provider, contact_id)
    key = str(uuid.uuid4())
    payload = body(d)
    await inject(w, provider, "create", fault)
    answer, statuses = await retried(
        lambda: create(w.client, w.company.headers, DEAL, payload, key)
    )
    assert answer.status_code in (200, 201), (statuses, answer.text)
    check_answers("create", fault, statuses)
    made = answer.json()["provider_invoice_id"]
    assert await invoice_ids(w, provider, contact_id) - before == {made}, statuses
    creates = await performed(w, provider, "create", fault)
    assert len({request_key(provider, r) for r in creates}) == 1, creates
    listed = await w.client.get(f"/api/v1/deals/{DEAL}/invoices", headers=w.company.headers)
    assert [i["provider_invoice_id"] for i in listed.json()] == [made]


async def void_once(w: World, provider: str, fault: str) -> None:
    invoice_id, _ = await made_invoice(w, provider, approve=provider == "xero")
    await inject(w, provider, "void", fault)
    answer, statuses = await retried(
        lambda: w.pd(
            "postInvoiceStatus", w.links[provider], invoiceId=invoice_id, json={"id": "VOIDED"}
        )
    )
    assert answer.status_code == 200, (statuses, answer.text)
    check_answers("void", fault, statuses)
    assert answer.json()["data"]["pipedriveStatusCode"] == "voided"
    voids = await performed(w, provider, "void", fault)
    assert len({request_key(provider, r) for r in voids}) == 1, voids
    now = await provider_call(w, provider, lambda a, c: a.get_invoice(c, invoice_id))
    assert now.status == "VOIDED"
    async with w.sessionmaker() as session:
        row = (
            await session.execute(
                select(DealInvoice).where(DealInvoice.provider_invoice_id == invoice_id)
            )
        ).scalar_one()
    assert row.provider_status == "VOIDED"


async def email_once(w: World, provider: str, fault: str) -> None:
    invoice_id, row_id = await made_invoice(w, provider, approve=provider == "xero")
    await inject(w, provider, "email", fault)
    # Our JSON API: a repeat with the same Idempotency-Key carries the same provider key.
    key = str(uuid.uuid4())
    answer, statuses = await retried(
        lambda: w.client.post(
            f"/api/v1/deals/{DEAL}/invoices/{row_id}/actions/EMAIL",
            headers={**w.company.headers, "Idempotency-Key": key},
        )
    )
    assert answer.status_code == 200, (statuses, answer.text)
    check_answers("email", fault, statuses)
    assert answer.json()["provider_invoice_id"] == invoice_id
    outbox = await sent_emails(w, provider, invoice_id)
    assert len(outbox) == 1, outbox


async def sent_emails(w: World, provider: str, invoice_id: str) -> list[dict[str, Any]]:
    """The stand-in's outbox entries for the invoice: one per email it sent."""
    if provider == "xero":
        outbox = (await w.sandbox.http.get("/_sandbox/xero/outbox")).json()
        return [m for m in outbox if m["InvoiceID"] == invoice_id]
    outbox = (await w.sandbox.http.get("/_sandbox/quickbooks/outbox")).json()
    return [m for m in outbox if m["invoice_id"] == invoice_id]
