"""QuickBooks Faults and failures → ProviderError (quickbooks.md §10). Pure functions."""

from __future__ import annotations

import re
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
from app.providers.quickbooks.spec import DEFAULT_RETRY_AFTER, PROVIDER

# Fault codes whose field we know (quickbooks.md §10).
_CODE_FIELDS = {
    "6140": "invoice_number",
    "6240": "name",
    "6070": "lines",
    "6090": "global_discount",
    "6100": "tax_code",
    "6430": "account_code",
    "2210": "email",
    "6210": "issue_date",
}
_ELEMENT_FIELDS = {
    "customerref": "contact_id",
    "displayname": "name",
    "docnumber": "invoice_number",
    "txndate": "issue_date",
    "duedate": "due_date",
    "currencyref": "currency",
    "billemail": "bill_email",
    "primaryemailaddr": "email",
    "itemref": "item_id",
    "taxcoderef": "tax_code",
    "incomeaccountref": "account_code",
    "sku": "code",
    "name": "name",
    "line": "lines",
}


def _plain(code: str, text: str) -> str:
    """A fault whose QuickBooks words need translating for the person who caused it."""
    if code == "6140":
        found = re.search(r"DocNumber=([^\s,;]+)", text)
        number = f" {found.group(1)}" if found else ""
        return (
            f"The invoice number{number} is already used in QuickBooks; "
            "give this invoice another number."
        )
    return text


def fault_messages(fault: dict[str, Any]) -> list[tuple[str, FieldMessage]]:
    """(code, message) for each error of a Fault; Message and Detail in plain words."""
    out = []
    for error in fault.get("Error") or fault.get("error") or []:
        code = str(error.get("code") or "")
        message = str(error.get("Message") or error.get("message") or "").strip()
        detail = str(error.get("Detail") or error.get("detail") or "").strip()
        text = message if not detail or detail == message else f"{message}: {detail}"
        element = str(error.get("element") or "").strip().lower()
        field = _CODE_FIELDS.get(code) or _ELEMENT_FIELDS.get(element.split(".")[0])
        text = _plain(code, text) if text else f"QuickBooks error {code}"
        out.append((code, FieldMessage(text, field)))
    return out


def fault_error(fault: dict[str, Any], status: int) -> ProviderError:
    """A QuickBooks Fault → the matching ProviderError (quickbooks.md §10)."""
    messages = fault_messages(fault)
    codes = [c for c, _ in messages]
    text = "; ".join(m.message for _, m in messages) or "QuickBooks rejected the request."
    first = codes[0] if codes else None
    kind = str(fault.get("type") or "")
    if "610" in codes:
        return ProviderNotFound(text, provider=PROVIDER, provider_code="610")
    if "5010" in codes:
        return ProviderConflict(text, provider=PROVIDER, provider_code="5010")
    if "3001" in codes or status == 429:
        return ProviderRateLimited(
            "QuickBooks asks us to slow down; retry in a minute.",
            provider=PROVIDER,
            retry_after=DEFAULT_RETRY_AFTER,
        )
    numeric = [int(c) for c in codes if c.isdigit()]
    if status == 401 or kind == "AuthenticationFault" or any(0 < n < 500 for n in numeric):
        return ProviderAuthError(
            f"QuickBooks refused the access token ({text}).",
            provider=PROVIDER,
            reason="tenant_access" if "120" in codes else "token_rejected",
        )
    if status == 403 or kind == "AuthorizationFault":
        return ProviderAuthError(
            f"QuickBooks refused access ({text}).", provider=PROVIDER, reason="tenant_access"
        )
    if status >= 500 or kind == "SystemFault":
        return ProviderUnavailable(
            f"QuickBooks is unavailable ({text}); try again shortly.", provider=PROVIDER
        )
    return ProviderValidationError([m for _, m in messages], provider=PROVIDER, provider_code=first)


def parse_error(response: httpx2.Response) -> ProviderError:
    """A non-2xx QuickBooks answer → ProviderError. 429 bodies may be XML (quickbooks.md §10)."""
    status = response.status_code
    if status == 429:
        return ProviderRateLimited(
            "QuickBooks asks us to slow down; retry in a minute.",
            provider=PROVIDER,
            retry_after=retry_after_seconds(response, DEFAULT_RETRY_AFTER),
        )
    try:
        body = loads(response.content) if response.content else {}
    except ValueError:
        body = {}
    fault = body.get("Fault") or body.get("fault") if isinstance(body, dict) else None
    if status >= 500 and not (isinstance(fault, dict) and fault.get("type") == "ValidationFault"):
        return ProviderUnavailable(
            f"QuickBooks is unavailable (HTTP {status}); try again shortly.",
            provider=PROVIDER,
            retry_after=retry_after_seconds(response, 30.0),
        )
    if isinstance(fault, dict):
        return fault_error(fault, status)
    if status == 401:
        return ProviderAuthError(
            "QuickBooks refused the access token.", provider=PROVIDER, reason="token_rejected"
        )
    if status == 403:
        return ProviderAuthError(
            "QuickBooks refused access to this company.", provider=PROVIDER, reason="tenant_access"
        )
    if status == 404:
        return ProviderNotFound("Not found in QuickBooks.", provider=PROVIDER)
    detail = ""
    if isinstance(body, dict):
        detail = str(body.get("detail") or body.get("message") or body.get("code") or "")
    return ProviderError(
        f"QuickBooks answered HTTP {status}: {detail or response.reason_phrase}",
        provider=PROVIDER,
    )
