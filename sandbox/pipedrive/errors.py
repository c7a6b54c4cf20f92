"""Pipedrive-shaped errors: the API's error envelope, and the bodies of injected faults."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

from sandbox.faults import FaultSpec
from sandbox.pipedrive.limits import OAUTH_BURST

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
INVALID_TOKEN = "Invalid token: access_token is invalid"
FAULT_MESSAGES = {
    400: "Bad request",
    401: INVALID_TOKEN,
    403: "Forbidden",
    404: "Not found",
    429: "Request over limit",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class PipedriveError(Exception):
    """An API answer in Pipedrive's error envelope."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_body(status: int, message: str) -> dict[str, Any]:
    # The v1 error envelope (reference §1.1 "API 401", OpenAPI 401/404 responses:
    # success, error, errorCode); v2 answers the same keys.
    return {
        "success": False,
        "error": message,
        "errorCode": status,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


def error_response(exc: PipedriveError, rate_headers: dict[str, str] | None = None) -> JSONResponse:
    """The error envelope; calls that passed auth keep their x-ratelimit-* headers."""
    headers = {**(rate_headers or {}), **exc.headers}
    return JSONResponse(error_body(exc.status, exc.message), exc.status, headers=headers)


def fault_body(status: int, spec: FaultSpec) -> tuple[bytes, dict[str, str]]:
    """Injected faults answer in Pipedrive's envelope (429s with x-ratelimit-* headers)."""
    body = json.dumps(error_body(status, FAULT_MESSAGES.get(status, "Request failed"))).encode()
    headers: dict[str, str] = {}
    if status == 429:
        headers = {
            "x-ratelimit-limit": str(OAUTH_BURST["lite"]),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(spec.retry_after),
        }
    return body, headers
