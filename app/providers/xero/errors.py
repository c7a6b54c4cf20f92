"""Xero failures → ProviderError (xero.md §2, §12, §15). Pure functions."""

from __future__ import annotations

from typing import Any

import httpx2

from app.kit.http import retry_after_seconds
from app.providers.errors import (
    FieldMessage,
    ProviderAuthError,
    ProviderConflict,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
    ProviderValidationError,
)
from app.providers.jsonutil import loads
from app.providers.xero.spec import PROVIDER

# Messages Xero gives when the invoice's state forbids the change (xero.md §10.5): a conflict
# with the current state, not bad input.
STATE_MESSAGES = (
    "not of valid status",
    "cannot be edited",
    "payments or credit notes allocated",
    "cannot be applied to the invoice",
)
# Keywords in Xero's validation messages → the InvoiceDraft/ContactInput/ItemInput field.
_FIELD_HINTS: tuple[tuple[str, str], ...] = (
    ("duedate", "due_date"),
    ("due date", "due_date"),
    ("currency", "currency"),
    ("taxtype", "tax_code"),
    ("tax type", "tax_code"),
    ("account code", "account_code"),
    ("accountcode", "account_code"),
    ("invoice #", "invoice_number"),
    ("invoicenumber", "invoice_number"),
    ("invoice number", "invoice_number"),
    ("brandingtheme", "template_id"),
    ("discount", "discount_rate"),
    ("contact name", "name"),
    ("contact", "contact_id"),
    ("itemcode", "item_code"),
    ("item code", "item_code"),
    ("code", "code"),
    ("email", "email"),
    ("date", "issue_date"),
    ("reference", "reference"),
    ("status", "status"),
    ("line", "lines"),
    ("name", "name"),
)


def guess_field(message: str) -> str | None:
    """Xero messages carry no field name: infer the field from its words."""
    text = message.lower()
    for needle, field_name in _FIELD_HINTS:
        if needle in text:
            return field_name
    return None


def element_errors(element: dict[str, Any]) -> list[FieldMessage]:
    """Validation messages of one returned element and of its line items."""
    out = [
        FieldMessage(str(e.get("Message")), guess_field(str(e.get("Message"))))
        for e in element.get("ValidationErrors") or []
        if e.get("Message")
    ]
    for index, line in enumerate(element.get("LineItems") or []):
        for e in line.get("ValidationErrors") or []:
            if e.get("Message"):
                out.append(FieldMessage(str(e["Message"]), f"lines[{index}]"))
    return out


def has_errors(element: dict[str, Any]) -> bool:
    return bool(
        element.get("HasErrors")
        or str(element.get("StatusAttributeString") or "").upper() == "ERROR"
        or element.get("ValidationErrors")
    )


def parse_error(response: httpx2.Response) -> ProviderError:
    """A non-2xx Xero answer → the matching ProviderError (xero.md §2, §12, §15)."""
    status = response.status_code
    try:
        body = loads(response.content) if response.content else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("Detail") or body.get("Message") or body.get("Title") or "")
    if status == 429:
        problem = response.headers.get("X-Rate-Limit-Problem", "").lower()
        daily = problem == "day"
        retry_after = retry_after_seconds(response, 60.0)
        return ProviderRateLimited(
            "Xero's daily call limit for this organisation is used up; try again tomorrow."
            if daily
            else f"Xero asks us to slow down ({problem or 'rate'} limit); retry shortly.",
            provider=PROVIDER,
            retry_after=retry_after,
            daily=daily,
        )
    if status == 400:
        errors: list[FieldMessage] = []
        for element in body.get("Elements") or []:
            errors.extend(element_errors(element))
        if not errors and detail:
            errors = [FieldMessage(detail, guess_field(detail))]
        error_number = body.get("ErrorNumber")
        validation = ProviderValidationError(
            errors,
            provider=PROVIDER,
            provider_code=str(error_number) if error_number is not None else None,
        )
        if any(m in validation.message.lower() for m in STATE_MESSAGES):
            return ProviderConflict(validation.message, provider=PROVIDER, field="status")
        return validation
    if status == 401:
        return ProviderAuthError(
            f"Xero refused the access token ({detail or 'AuthorizationUnsuccessful'}).",
            provider=PROVIDER,
            reason="token_rejected",
        )
    if status == 403:
        return ProviderAuthError(
            f"Xero refused access to this organisation ({detail or 'Forbidden'}); "
            "it may have been disconnected or reset.",
            provider=PROVIDER,
            reason="tenant_access",
        )
    if status == 404:
        return ProviderNotFound(detail or "Not found in Xero.", provider=PROVIDER)
    if status in (409, 412):
        return ProviderConflict(detail or "The object changed in Xero.", provider=PROVIDER)
    if status >= 500:
        return ProviderUnavailable(
            f"Xero is unavailable (HTTP {status}); try again shortly.",
            provider=PROVIDER,
            retry_after=retry_after_seconds(response, 30.0),
        )
    return ProviderError(
        f"Xero answered HTTP {status}: {detail or response.reason_phrase}", provider=PROVIDER
    )
