"""Wires the Xero stand-in into the sandbox app: identity, API gateway, Accounting API, pages,
control routes, reset hook, demo seeder and the Xero-shaped body for injected faults."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from sandbox.faults import FaultSpec
from sandbox.xero import accounting, connections, control, oauth, pages
from sandbox.xero.api import problem
from sandbox.xero.gate import XeroGate
from sandbox.xero.seed import seed
from sandbox.xero.state import XeroState
from sandbox.xero.webhooks import EventBatcher

if TYPE_CHECKING:
    from sandbox.app import Sandbox


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


def install(app: FastAPI, sandbox: Sandbox) -> None:
    state = XeroState(sandbox)
    state.batcher = EventBatcher(state)
    app.state.xero = state
    sandbox.extras["xero"] = state
    oauth.install(app, state)
    connections.install(app, state)
    accounting.install(app)
    pages.install(app, state)
    control.install(app, state)
    app.add_middleware(XeroGate, state=state)
    sandbox.reset_hooks.append(state.reset)

    def seeder(_: Any) -> dict[str, Any]:
        return seed(state)

    sandbox.seeders["xero"] = seeder
    sandbox.faults.error_bodies["/xero"] = fault_body
