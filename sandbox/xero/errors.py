"""Xero-shaped errors: the gateway's problem-details body, and the bodies of injected faults."""

from __future__ import annotations

import json
from typing import Any

from sandbox.faults import FaultSpec
from sandbox.xero.state import new_id


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """The gateway's problem-details body (xero.md section 2, auth error shapes)."""
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": new_id(),
        "Extensions": {},
    }


def fault_body(status: int, spec: FaultSpec) -> tuple[bytes, dict[str, str]]:
    """Injected errors look like Xero's: problem details, and the 429 headers."""
    titles = {
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
    }
    details = {
        429: "TooManyRequests",
        401: "AuthorizationUnsuccessful",
        403: "AuthenticationUnsuccessful",
    }
    body = problem(status, titles.get(status, "Error"), details.get(status, "An error occurred"))
    headers: dict[str, str] = {}
    if status == 429:
        headers = {"retry-after": str(spec.retry_after), "x-rate-limit-problem": spec.problem}
    return json.dumps(body).encode(), headers
