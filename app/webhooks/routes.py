"""``/webhooks/{xero,quickbooks,pipedrive}``: verify over the raw bytes, store, answer.

The request boundary commits before the answer is sent, so a 2xx means stored. Bad signature:
401, nothing stored (Xero's Intent to Receive checks exactly this). Malformed body: 400.
Unknown tenant: 200 and dropped.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from app.providers.quickbooks.webhooks import SIGNATURE_HEADER as QBO_SIGNATURE
from app.providers.xero.webhooks import SIGNATURE_HEADER as XERO_SIGNATURE
from app.tenants.dependencies import CurrentAdmin
from app.web import DbSession, SettingsDep
from app.webhooks.models import WebhookEvent
from app.webhooks.parsing import pipedrive_events, quickbooks_events, xero_events
from app.webhooks.schemas import EventOut, JobOut
from app.webhooks.service import check_basic, check_hmac, store
from app.worker.models import Job

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
api = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.post("/xero", status_code=200, response_class=Response)
async def xero_webhook(request: Request, session: DbSession, settings: SettingsDep) -> Response:
    """Xero: ``x-xero-signature``; answered with an empty 200 (also Intent to Receive)."""
    raw = await request.body()
    check_hmac(raw, request.headers.get(XERO_SIGNATURE), settings.xero.webhook_key)
    await store(session, "xero", xero_events(raw))
    return Response(status_code=200)


@router.post("/quickbooks", status_code=200, response_class=Response)
async def quickbooks_webhook(
    request: Request, session: DbSession, settings: SettingsDep
) -> Response:
    """QuickBooks: ``intuit-signature`` with the Verifier Token; CloudEvents or legacy."""
    raw = await request.body()
    check_hmac(raw, request.headers.get(QBO_SIGNATURE), settings.quickbooks.webhook_verifier_token)
    await store(session, "quickbooks", quickbooks_events(raw))
    return Response(status_code=200)


@router.post("/pipedrive", status_code=200, response_class=Response)
async def pipedrive_webhook(
    request: Request, session: DbSession, settings: SettingsDep
) -> Response:
    """Pipedrive webhooks v2, authenticated with the Basic credentials we registered."""
    check_basic(request.headers.get("authorization"), settings)
    raw = await request.body()
    await store(session, "pipedrive", pipedrive_events(raw))
    return Response(status_code=200)


@api.get("/jobs", response_model=list[JobOut])
async def recent_jobs(
    admin: CurrentAdmin,
    session: DbSession,
    status: Annotated[str | None, Query(pattern="^(pending|running|done|parked)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[JobOut]:
    """The company's background jobs, newest first (admins; for support). ``status=parked``
    lists the ones that kept failing and are no longer retried, with their last error."""
    query = select(Job).where(Job.company_id == admin.company_id)
    if status:
        query = query.where(Job.status == status)
    rows = await session.scalars(query.order_by(Job.created_at.desc()).limit(limit))
    return [JobOut.model_validate(row, from_attributes=True) for row in rows]


@api.get("/events", response_model=list[EventOut])
async def recent_events(
    admin: CurrentAdmin,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    source: Annotated[str | None, Query(pattern="^(xero|quickbooks|pipedrive)$")] = None,
) -> list[EventOut]:
    """The company's last received events and their outcome (admins; for support)."""
    query = select(WebhookEvent).where(WebhookEvent.company_id == admin.company_id)
    if source:
        query = query.where(WebhookEvent.source == source)
    rows = await session.scalars(query.order_by(WebhookEvent.received_at.desc()).limit(limit))
    return [EventOut.model_validate(row, from_attributes=True) for row in rows]
