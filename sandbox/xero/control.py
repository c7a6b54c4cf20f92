"""Xero's part of the control API (/_sandbox/xero/...): auto-approve consent, payments,
the email outbox, intent-to-receive, simulated processing time and webhook flushing."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, Field

from sandbox.xero import webhooks
from sandbox.xero.api.payments import PaymentError, apply_payment
from sandbox.xero.state import AutoApprove, XeroState


class AutoApproveBody(BaseModel):
    email: str | None = Field(None, description="the Xero user who consents")
    tenant_ids: list[str] = Field(default_factory=list, description="empty: all the user's orgs")
    deny: bool = False
    count: int | None = Field(None, ge=1, description="only the next N authorize requests")


class PaymentBody(BaseModel):
    InvoiceID: str
    Amount: str | float
    Date: str | None = None


class IntentBody(BaseModel):
    url: str | None = Field(None, description="defaults to the configured xero_webhook_url")


class LatencyBody(BaseModel):
    ms: int = Field(ge=0, le=60_000)


def install(app: FastAPI, state: XeroState) -> None:
    router = APIRouter(prefix="/_sandbox/xero", tags=["control"])
    consent_controls(router, state)
    record_controls(router, state)
    delivery_controls(router, state)
    app.include_router(router)


def consent_controls(router: APIRouter, state: XeroState) -> None:
    """Arm or disarm non-interactive consent."""

    @router.post("/auto-approve")
    async def auto_approve(body: AutoApproveBody) -> dict[str, Any]:
        """The next authorize requests redirect at once (consent as `email`, or deny)."""
        if not body.deny:
            user = next(
                (
                    u
                    for u in state.users()
                    if u["EmailAddress"].lower() == (body.email or "").lower()
                ),
                None,
            )
            if user is None:
                raise HTTPException(422, f"unknown Xero user {body.email!r}")
            foreign = [t for t in body.tenant_ids if t not in user["roles"]]
            if foreign:
                raise HTTPException(422, f"{body.email} has no access to {', '.join(foreign)}")
        state.auto = AutoApprove(
            email=body.email,
            tenant_ids=[t.lower() for t in body.tenant_ids],
            deny=body.deny,
            remaining=body.count,
        )
        return {"armed": True, **body.model_dump()}

    @router.delete("/auto-approve")
    async def disarm() -> dict[str, Any]:
        state.auto = None
        return {"armed": False}


def record_controls(router: APIRouter, state: XeroState) -> None:
    """Payments as a customer would make them, and the email outbox."""

    @router.post("/payments")
    async def payment(body: PaymentBody) -> dict[str, Any]:
        """Apply a payment: partial lowers AmountDue; the full balance makes it PAID."""
        invoice = state.store.get("xero:invoice", body.InvoiceID.lower())
        if invoice is None:
            raise HTTPException(404, f"no invoice {body.InvoiceID}")
        try:
            amount = Decimal(str(body.Amount))
            invoice = apply_payment(state, invoice, amount, body.Date)
        except (InvalidOperation, PaymentError) as exc:
            raise HTTPException(422, str(exc)) from exc
        keys = ("InvoiceID", "Status", "Total", "AmountPaid", "AmountDue", "FullyPaidOnDate")
        return {k: invoice.get(k) for k in keys}

    @router.get("/outbox")
    async def outbox() -> list[dict[str, Any]]:
        """Invoices emailed through `POST /Invoices/{id}/Email`, oldest first."""
        return state.store.all("xero:outbox")


def delivery_controls(router: APIRouter, state: XeroState) -> None:
    """Webhook handshakes and flushes, and simulated processing time."""

    @router.post("/intent-to-receive")
    async def intent_to_receive(body: IntentBody | None = None) -> dict[str, Any]:
        """Run Xero's handshake against the webhook URL; reports whether it answered right."""
        url = (body.url if body else None) or state.sandbox.settings.xero_webhook_url
        if not url:
            raise HTTPException(422, "no webhook URL configured")
        return await webhooks.intent_to_receive(state, state.sandbox.http, url)

    @router.post("/webhooks/flush")
    async def flush() -> dict[str, Any]:
        """Send the pending batch now instead of waiting for the batching window."""
        if state.batcher is not None:
            state.batcher.flush()
        return {"flushed": True}

    @router.post("/latency")
    async def latency(body: LatencyBody) -> dict[str, Any]:
        """Processing time inside the rate limiter, so that concurrent calls overlap."""
        state.latency_ms = body.ms
        return {"latency_ms": body.ms}
