"""Control calls for the QuickBooks stand-in under /_sandbox/quickbooks."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from sandbox.quickbooks import errors
from sandbox.quickbooks.api import payments
from sandbox.quickbooks.oauth import AutoApprove, OAuthState
from sandbox.quickbooks.seed import REALM_ID
from sandbox.quickbooks.state import ApiState, Books, public
from sandbox.quickbooks.webhooks import set_webhook_format, webhook_format

if TYPE_CHECKING:
    from sandbox.app import Sandbox


class AutoApproveBody(BaseModel):
    realm_id: str | None = None
    deny: bool = False
    user_email: str | None = None


class PaymentBody(BaseModel):
    invoice_id: str
    amount: Decimal = Field(gt=0)
    realm_id: str = REALM_ID


class FormatBody(BaseModel):
    format: Literal["cloudevents", "legacy"]
    realm_id: str = REALM_ID


class PreferencesBody(BaseModel):
    realm_id: str = REALM_ID
    MultiCurrencyEnabled: bool | None = None
    CustomTxnNumbers: bool | None = None


class ProcessingBody(BaseModel):
    seconds: float = Field(ge=0, le=30)


def books_for(sandbox: Sandbox, realm_id: str) -> Books:
    if sandbox.store.get("qbo:realm", realm_id) is None:
        raise HTTPException(404, f"unknown realm {realm_id}")
    return Books(sandbox.store, sandbox.clock, realm_id, sandbox.settings.public_url)


def install(router: APIRouter, sandbox: Sandbox, oauth: OAuthState, api: ApiState) -> None:
    consent_controls(router, oauth)
    book_controls(router, sandbox)
    limit_controls(router, api)


def consent_controls(router: APIRouter, oauth: OAuthState) -> None:
    """Arm or disarm non-interactive consent."""

    @router.post("/_sandbox/quickbooks/auto-approve", tags=["quickbooks control"])
    async def auto_approve(body: AutoApproveBody) -> dict[str, Any]:
        """Authorize requests redirect at once from now on: approve (realm) or deny."""
        if body.realm_id and oauth.sandbox.store.get("qbo:realm", body.realm_id) is None:
            raise HTTPException(404, f"unknown realm {body.realm_id}")
        oauth.auto = AutoApprove(body.realm_id, body.deny, body.user_email)
        return {"auto_approve": body.model_dump()}

    @router.delete("/_sandbox/quickbooks/auto-approve", tags=["quickbooks control"])
    async def interactive() -> dict[str, Any]:
        """Back to the interactive authorize page."""
        oauth.auto = None
        return {"auto_approve": None}


def book_controls(router: APIRouter, sandbox: Sandbox) -> None:
    """Payments, the webhook format, the email outbox and company preferences."""

    @router.post("/_sandbox/quickbooks/payments", tags=["quickbooks control"])
    async def payment(body: PaymentBody) -> dict[str, Any]:
        """Record a customer payment (partial or full); fires Payment and Invoice webhooks."""
        books = books_for(sandbox, body.realm_id)
        try:
            paid = payments.record_payment(sandbox, books, body.invoice_id, body.amount)
        except errors.QboFault as fault:
            raise HTTPException(400 if fault.code != "610" else 404, fault.detail) from None
        invoice = books.require("Invoice", body.invoice_id)
        return {"Payment": public(paid), "Invoice": public(invoice)}

    @router.post("/_sandbox/quickbooks/webhook-format", tags=["quickbooks control"])
    async def set_format(body: FormatBody) -> dict[str, Any]:
        """Choose the notification shape for a realm: CloudEvents (default) or legacy."""
        books_for(sandbox, body.realm_id)
        set_webhook_format(sandbox, body.realm_id, body.format)
        return {"realm_id": body.realm_id, "format": webhook_format(sandbox, body.realm_id)}

    @router.get("/_sandbox/quickbooks/outbox", tags=["quickbooks control"])
    async def outbox(realm_id: str | None = None) -> list[dict[str, Any]]:
        """Invoices "emailed" through `/invoice/{Id}/send`."""
        return sandbox.store.all("qbo:outbox", realm_id)

    @router.post("/_sandbox/quickbooks/preferences", tags=["quickbooks control"])
    async def preferences(body: PreferencesBody) -> dict[str, Any]:
        """Flip company settings the API cannot change (multi-currency, custom numbers)."""
        books_for(sandbox, body.realm_id)
        realm = sandbox.store.get("qbo:realm", body.realm_id) or {}
        prefs = realm["Preferences"]
        if body.MultiCurrencyEnabled is not None:
            prefs["CurrencyPrefs"]["MultiCurrencyEnabled"] = body.MultiCurrencyEnabled
        if body.CustomTxnNumbers is not None:
            prefs["SalesFormsPrefs"]["CustomTxnNumbers"] = body.CustomTxnNumbers
        sandbox.store.put("qbo:realm", body.realm_id, realm)
        return {"Preferences": prefs}


def limit_controls(router: APIRouter, api: ApiState) -> None:
    """Simulated processing time and the per-realm limits' state."""

    @router.post("/_sandbox/quickbooks/processing-time", tags=["quickbooks control"])
    async def processing_time(body: ProcessingBody) -> dict[str, Any]:
        """Make every API call take this long inside the concurrency gate."""
        api.processing_seconds = body.seconds
        return {"seconds": body.seconds}

    @router.get("/_sandbox/quickbooks/limits", tags=["quickbooks control"])
    async def limits(realm_id: str = REALM_ID) -> dict[str, Any]:
        return {
            "minute_remaining": api.minute.remaining(realm_id),
            "second_remaining": api.second.remaining(realm_id),
            "peak_concurrency": api.gate.peak.get(realm_id, 0),
        }
