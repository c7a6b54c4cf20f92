"""The row that makes creation exactly-once: keyed by (company, Idempotency-Key), committed
before the provider is called, claimed by one request at a time (see ``creation``)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict, ValidationFailed
from app.invoices.context import InvoiceContext
from app.invoices.models import DealInvoice, InvoiceStatus
from app.invoices.repository import InvoiceRepository
from app.invoices.schemas import InvoiceIn

LEASE = timedelta(seconds=90)
WAIT_SECONDS = 60.0
POLL_SECONDS = 0.05
KEY_MAX = 128


def request_hash(deal_id: int | None, body: InvoiceIn) -> str:
    payload = json.dumps({"deal_id": deal_id, "body": body.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def provider_key(company_id: str, key: str, attempt: int) -> str:
    """The provider's idempotency key: 36 characters (fits Xero's 128 and QuickBooks' 50),
    the same for every retry of one attempt, different for a new attempt after a failure."""
    digest = hashlib.sha256(f"{company_id}:{key}:{attempt}".encode()).hexdigest()
    return str(uuid.UUID(hex=digest[:32]))


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
    ctx: InvoiceContext, deal_id: int | None, body: InvoiceIn, key: str, digest: str
) -> tuple[DealInvoice, bool, str | None]:
    """The row for this key, whether this request must work on it (False: it is done), and
    the state it took over (None for a fresh row)."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        fresh = await insert_row(ctx, deal_id, body, key, digest)
        if fresh is not None:
            return fresh, True, None
        async with ctx.sessionmaker() as session:
            existing = await InvoiceRepository(session, ctx.company_id).by_key(key)
            if existing is None:
                continue
            retry_with_changes = existing.status == InvoiceStatus.failed
            if (existing.request_hash != digest or existing.deal_id != deal_id) and not (
                retry_with_changes and existing.deal_id == deal_id
            ):
                raise ValidationFailed(
                    "This Idempotency-Key was already used for a different invoice; "
                    "open the dialog again to get a new one.",
                    field="Idempotency-Key",
                )
            if existing.status == InvoiceStatus.created:
                return existing, False, None
            lease = existing.lease_until
            if existing.status == InvoiceStatus.pending and lease and lease > utcnow():
                if asyncio.get_running_loop().time() > deadline:
                    raise Conflict(
                        "This invoice is still being created; try again in a moment.",
                        code="in_progress",
                    )
                await asyncio.sleep(POLL_SECONDS)
                continue
            taken = await take_over(session, existing, body, digest)
            if taken is not None:
                return taken, True, existing.status


async def insert_row(
    ctx: InvoiceContext, deal_id: int | None, body: InvoiceIn, key: str, digest: str
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
            lease_until=utcnow() + LEASE,
            currency=body.currency,
            reference=body.reference,
            issue_date=body.issue_date,
            due_date=body.due_date,
            created_by_user_id=ctx.user.id,
            request_body=body.model_dump(mode="json"),
        )
        session.add(row)
        try:
            await session.commit()
            return row
        except IntegrityError:
            await session.rollback()
            return None


async def take_over(
    session: AsyncSession, existing: DealInvoice, body: InvoiceIn, digest: str
) -> DealInvoice | None:
    """Take over a failed or unknown row, or a pending one whose worker died: compare and
    swap on status and lease, so exactly one request wins (None: another one did)."""
    attempt = existing.attempt + (1 if existing.status == InvoiceStatus.failed else 0)
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
        .values(
            status=InvoiceStatus.pending,
            attempt=attempt,
            lease_until=utcnow() + LEASE,
            failure_reason=None,
            # A failed attempt created nothing: the corrected invoice replaces it.
            request_hash=digest,
            request_body=body.model_dump(mode="json"),
            reference=body.reference,
            currency=body.currency,
            issue_date=body.issue_date,
            due_date=body.due_date,
            updated_at=utcnow(),
        )
    )
    await session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    refreshed = await session.get(DealInvoice, existing.id, populate_existing=True)
    assert refreshed is not None
    return refreshed


async def save_row(ctx: InvoiceContext, row_id: str, **values: object) -> DealInvoice:
    """Write ``values`` to the row in a transaction of its own (committed at once)."""
    async with ctx.sessionmaker() as session:
        row = await session.get(DealInvoice, row_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        await session.commit()
        return row
