"""QuickBooks-shaped errors: the v3 Fault envelope and Intuit's OAuth error bodies.

Messages follow quickbooks.md §10 (codes and meanings); where the reference gives only a code,
the wording is ours and the catalogue test (tests/sandbox/quickbooks/test_errors_catalogue.py)
marks it UNCONFIRMED.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.faults import FaultSpec
from sandbox.quickbooks.clocktime import qbo_time


class QboFault(Exception):
    """One v3 API error: HTTP status plus one Fault.Error entry."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str,
        *,
        element: str = "",
        type_: str = "ValidationFault",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.type = type_
        self.headers = headers or {}

    def body(self, time: str) -> dict[str, Any]:
        return {
            "Fault": {
                "Error": [
                    {
                        "Message": self.message,
                        "Detail": self.detail,
                        "code": self.code,
                        "element": self.element,
                    }
                ],
                "type": self.type,
            },
            "time": time,
        }


class OAuthError(Exception):
    """An Intuit OAuth server error: `{"error", "error_description"}`."""

    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description


# Constructors for the documented faults, so routes read like the catalogue.


def stale_object(entity_id: str, sent: str, current: str) -> QboFault:
    return QboFault(
        400,
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and Intuit Admin worked on this at the same time. Intuit "
        f"Admin finished before you did, so your work was not saved. (SyncToken {sent} sent, "
        f"current is {current}; Id={entity_id})",
    )


def not_found(entity: str, entity_id: str) -> QboFault:
    return QboFault(
        400,
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. Check the "
        f"fields with accounts, customers, items, vendors or employees. ({entity} Id={entity_id})",
    )


def required(param: str, element: str = "") -> QboFault:
    return QboFault(
        400,
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {param} is missing in the request",
        element=element or param,
    )


def invalid_reference(entity: str, value: str, element: str) -> QboFault:
    return QboFault(
        400,
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {entity} assigned to this transaction has been deleted or does "
        f"not exist (Id={value}).",
        element=element,
    )


def invalid_property(detail: str, element: str = "") -> QboFault:
    return QboFault(
        400, "2010", "Request has invalid or unsupported property", detail, element=element
    )


def duplicate_name(entity_id: str) -> QboFault:
    return QboFault(
        400,
        "6240",
        "Duplicate Name Exists Error",
        "The name supplied already exists. : Another customer, vendor or employee is already "
        f"using this name. Please use a different name. Id={entity_id}",
    )


def business(code: str, detail: str, element: str = "") -> QboFault:
    return QboFault(
        400,
        code,
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element=element,
    )


def authentication(detail: str) -> QboFault:
    return QboFault(
        401,
        "3200",
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        detail,
        type_="AuthenticationFault",
        headers={"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
    )


def throttled(retry_after: int = 60) -> QboFault:
    # quickbooks.md §10/§12: 3001, type SERVICE. Historically XML; the stand-in answers JSON,
    # which is what a client asking for JSON should be able to parse (defensive choice).
    return QboFault(
        429,
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached. Wait 60 seconds before retrying.",
        type_="SERVICE",
        headers={"Retry-After": str(retry_after)},
    )


def query_parse(detail: str) -> QboFault:
    return QboFault(400, "4000", "Error parsing query", f"QueryParserError: {detail}")


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(QboFault)
    async def _fault(request: Request, exc: QboFault) -> JSONResponse:
        now = request.app.state.sandbox.clock.now()
        return JSONResponse(exc.body(qbo_time(now, millis=True)), exc.status, headers=exc.headers)

    @app.exception_handler(OAuthError)
    async def _oauth(request: Request, exc: OAuthError) -> JSONResponse:
        body: dict[str, Any] = {"error": exc.error}
        if exc.description:
            body["error_description"] = exc.description
        headers = {"WWW-Authenticate": "Basic"} if exc.status == 401 else None
        return JSONResponse(body, exc.status, headers=headers)


def injected_api_error(status: int, spec: FaultSpec) -> tuple[bytes, dict[str, str]]:
    """Body of an injected fault on the v3 API, in the Fault shape."""
    if status == 429:
        fault = throttled(spec.retry_after)
    elif status == 401:
        fault = authentication("Token expired (injected)")
    elif status == 503:
        fault = QboFault(
            503,
            "10000",
            "Service Unavailable",
            "Service temporarily unavailable",
            type_="SystemFault",
        )
    elif status >= 500:
        fault = QboFault(
            status,
            "10000",
            "An application error has occurred while processing your request",
            "System Failure Error: An unexpected error occurred while accessing or saving your "
            "data. Please wait a few minutes and try again.",
            type_="SystemFault",
        )
    else:
        fault = invalid_property("Injected error")
    from datetime import UTC, datetime

    return json.dumps(fault.body(qbo_time(datetime.now(UTC), millis=True))).encode(), fault.headers


def injected_oauth_error(status: int, spec: FaultSpec) -> tuple[bytes, dict[str, str]]:
    error = "invalid_grant" if status < 500 else "server_error"
    return json.dumps({"error": error, "error_description": "injected"}).encode(), {}
