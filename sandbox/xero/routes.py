"""Wires the Xero stand-in into the sandbox app: identity, API gateway, Accounting API, pages,
control routes, reset hook, demo seeder and the Xero-shaped body for injected faults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from sandbox.xero import api, control, oauth, pages
from sandbox.xero.api.gate import XeroGate
from sandbox.xero.errors import fault_body
from sandbox.xero.seed import seed
from sandbox.xero.state import XeroState
from sandbox.xero.webhooks import EventBatcher

if TYPE_CHECKING:
    from sandbox.app import Sandbox


def install(app: FastAPI, sandbox: Sandbox) -> None:
    state = XeroState(sandbox)
    state.batcher = EventBatcher(state)
    app.state.xero = state
    sandbox.extras["xero"] = state
    oauth.install(app, state)
    api.install(app, state)
    pages.install(app, state)
    control.install(app, state)
    app.add_middleware(XeroGate, state=state)
    sandbox.reset_hooks.append(state.reset)

    def seeder(_: Any) -> dict[str, Any]:
        return seed(state)

    sandbox.seeders["xero"] = seeder
    sandbox.faults.error_bodies["/xero"] = fault_body
