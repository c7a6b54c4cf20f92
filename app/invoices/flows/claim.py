"""The row that makes creation exactly-once: keyed by (company, Idempotency-Key), committed
before the provider is called, claimed by one request at a time (see ``creation``)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import new_uuid, utcnow
from app.errors import Conflict, ValidationFailed
from app.invoices.context import InvoiceContext
from app.invoices.models import DealInvoice, DealInvoiceLink, InvoiceStatus
from app.invoices.repository import InvoiceRepository
from app.invoices.schemas import InvoiceIn
from app.kit.signing import derived_key

WAIT_SECONDS = 60.0
POLL_SECONDS = 0.05
KEY_MAX = 128


@dataclass
class Claim:
    """The intent a request (or the reconciler) holds: the row, its claim token, and whether
    an earlier holder may already have sent it to the provider (``resumed``)."""

    row: DealInvoice
    token: str
    resumed: bool


def lease_end(ctx: InvoiceContext) -> datetime:
    return utcnow() + timedelta(seconds=ctx.settings.intent_lease_seconds)


# Fields added after intents were first recorded: left out of the digest while they hold their
# defaults, so an intent recorded before they existed still matches its retry after a deploy.
LATER_FIELDS: dict[str, object] = {
    "invoice_number": None,
    "accept_tax_difference": False,
    "part": None,
}
LATER_LINE_FIELDS: dict[str, object] = {"deal_tax_rate": None}


def request_hash(deal_id: int | None, body: InvoiceIn) -> str:
    dumped = body.model_dump(mode="json")
    for name, default in LATER_FIELDS.items():
        if dumped.get(name, default) == default:
            dumped.pop(name, None)
    for line in dumped.get("lines") or []:
        for name, default in LATER_LINE_FIELDS.items():
            if line.get(name, default) == default:
                line.pop(name, None)
    payload = json.dumps({"deal_id": deal_id, "body": dumped}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def provider_key(company_id: str, key: str, attempt: int) -> str:
    """The provider's idempotency key: 36 characters (fits Xero's 128 and QuickBooks' 50),
    the same for every retry of one attempt, different for a new attempt after a failure."""
    return derived_key(company_id, key, attempt)


def validate_key(key: str | None) -> str:
    if not key or not key.strip():
        raise ValidationFailed(
            "Send an Idempotency-Key header (one per opening of the dialog).",
            field="Idempotency-Key",
        )
    if len(key) > KEY_MAX or not key.isprintable():
        raise ValidationFailed(
            f"The Idempotency-Key must be at most {KEY_MAX} printable characters.",
            field="Idempotency-Key",
        )
    return key.strip()


async def claim(
    ctx: InvoiceContext,
    deal_id: int | None,
    body: InvoiceIn,
    key: str,
    digest: str,
    url: str | None,
    columns: dict[str, object] | None = None,
) -> tuple[DealInvoice, Claim | None]:
    """The intent for this key and, when this request must work on it, its claim (None: it
    was created already). A key used for a different invoice is a 409 whatever the intent's
    state, except a failed one, which may be retried with corrected input for its deal.
    ``columns``: more of the row's values (the part of the deal it invoices)."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        fresh = await insert_row(ctx, deal_id, body, key, digest, url, columns)
        if fresh is not None:
            return fresh, Claim(fresh, fresh.claim_token or "", resumed=False)
        async with ctx.sessionmaker() as session:
            existing = await InvoiceRepository(session, ctx.company_id).by_key(key)
            if existing is None:
                continue
            check_same_request(existing, deal_id, digest)
            if existing.status == InvoiceStatus.created:
                return existing, None
            lease = existing.lease_until
            if existing.status == InvoiceStatus.pending and lease and lease > utcnow():
                if asyncio.get_running_loop().time() > deadline:
                    raise Conflict(
                        "This invoice is still being created; try again in a moment.",
                        code="in_progress",
                    )
                await asyncio.sleep(POLL_SECONDS)
                continue
            taken = await take_over(ctx, session, existing, body, digest, columns=columns)
            if taken is not None:
                return taken.row, taken


def check_same_request(existing: DealInvoice, deal_id: int | None, digest: str) -> None:
    """409 for a key already used for another invoice (a failed intent of the same deal may
    take corrected input: the provider refused it, so nothing exists to conflict with)."""
    if existing.deal_id != deal_id or (
        existing.request_hash != digest and existing.status != InvoiceStatus.failed
    ):
        raise Conflict(
            "This Idempotency-Key was already used for a different invoice; "
            "open the dialog again to get a new one.",
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )


async def insert_row(
    ctx: InvoiceContext,
    deal_id: int | None,
    body: InvoiceIn,
    key: str,
    digest: str,
    url: str | None,
    columns: dict[str, object] | None = None,
) -> DealInvoice | None:
    """A new ``pending`` row for the key, committed; None when the key already has one."""
    async with ctx.sessionmaker() as session:
        row = DealInvoice(
            company_id=ctx.company_id,
            provider=body.provider,
            deal_id=deal_id,
            idempotency_key=key,
            request_hash=digest,
            status=InvoiceStatus.pending,
            lease_until=lease_end(ctx),
            claim_token=new_uuid(),
            deal_url=url,
            currency=body.currency,
            reference=body.reference,
            issue_date=body.issue_date,
            due_date=body.due_date,
            created_by_user_id=ctx.user.id,
            request_body=body.model_dump(mode="json"),
            **(columns or {}),
        )
        session.add(row)
        try:
            await session.flush()
            if deal_id is not None:
                # The deal it is created from lists it (docs/invoices.md "Invoices and deals").
                session.add(
                    DealInvoiceLink(
                        company_id=ctx.company_id,
                        invoice_id=row.id,
                        deal_id=deal_id,
                        linked_by_user_id=ctx.user.id,
                    )
                )
            await session.commit()
            return row
        except IntegrityError:
            await session.rollback()
            return None


async def take_over(
    ctx: InvoiceContext,
    session: AsyncSession,
    existing: DealInvoice,
    body: InvoiceIn | None = None,
    digest: str | None = None,
    by_reconciler: bool = False,
    columns: dict[str, object] | None = None,
) -> Claim | None:
    """Take over a failed or unknown intent, or a pending one whose holder died: compare and
    swap on status, attempt and lease, so exactly one taker wins (None: another one did).
    A failed intent starts a new attempt (a new provider key) with the body given; any other
    keeps its attempt and body: it may exist at the provider under that attempt's key."""
    failed = existing.status == InvoiceStatus.failed
    values: dict[str, object] = {
        "status": InvoiceStatus.pending,
        "attempt": existing.attempt + (1 if failed else 0),
        "lease_until": lease_end(ctx),
        "claim_token": new_uuid(),
        "updated_at": utcnow(),
    }
    if by_reconciler:
        values["tries"] = existing.tries + 1
    if failed and body is not None and digest is not None:
        # The provider refused the failed attempt, so the corrected invoice replaces it.
        values.update(
            failure_reason=None,
            request_hash=digest,
            request_body=body.model_dump(mode="json"),
            reference=body.reference,
            currency=body.currency,
            issue_date=body.issue_date,
            due_date=body.due_date,
            **(columns or {}),
        )
    result = await session.execute(
        update(DealInvoice)
        .where(
            DealInvoice.id == existing.id,
            DealInvoice.status == existing.status,
            DealInvoice.attempt == existing.attempt,
            DealInvoice.lease_until == existing.lease_until
            if existing.lease_until is not None
            else DealInvoice.lease_until.is_(None),
        )
        .values(**values)
    )
    await session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    refreshed = await session.get(DealInvoice, existing.id, populate_existing=True)
    assert refreshed is not None
    return Claim(refreshed, str(values["claim_token"]), resumed=not failed)


async def save_row(ctx: InvoiceContext, row_id: str, **values: object) -> DealInvoice:
    """Write ``values`` to the row in a transaction of its own (committed at once)."""
    async with ctx.sessionmaker() as session:
        row = await session.get(DealInvoice, row_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        await session.commit()
        return row
