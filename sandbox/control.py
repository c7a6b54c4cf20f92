"""The control API (/_sandbox/...): reset, seed, clock, faults, request log, webhook log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, Field

from sandbox.faults import FaultSpec

# `demo`: the demo world (docs/demo-data.md). `bench`: many alike companies, each a Pipedrive
# company with an admin and the demo's deals and a QuickBooks company of its own, so that a
# benchmark's load is not held by one realm's limits (bench/create_invoice.py).
SEEDS = ("demo", "bench")
BENCH_COMPANIES, MAX_BENCH_COMPANIES = 20, 200


class Advance(BaseModel):
    seconds: float = Field(ge=0)


def _sandbox(request: Request) -> Any:
    return request.app.state.sandbox


def install(app: FastAPI, sandbox: Any) -> None:
    router = APIRouter(prefix="/_sandbox", tags=["control"])
    state_routes(router)
    fault_routes(router)
    log_routes(router)
    app.include_router(router)


def state_routes(router: APIRouter) -> None:
    """Reset, seed and the clock."""

    @router.post("/reset")
    async def reset(request: Request) -> dict[str, Any]:
        """Forget everything: state, clock offset, faults, logs."""
        _sandbox(request).reset()
        return {"reset": True}

    @router.post("/seed")
    async def seed(
        request: Request,
        name: str = "demo",
        companies: int = Query(BENCH_COMPANIES, ge=1, le=MAX_BENCH_COMPANIES),
    ) -> dict[str, Any]:
        """Load the named data set into every stand-in: `demo` (docs/demo-data.md), or `bench`:
        `companies` Pipedrive companies (ids 7101, 7102, ...), each with an admin who can
        install an app and the demo's products, organizations, persons and deals (ids offset
        by 1000 per company: "Acme rollout" is deal 1031, 2031, ...), and as many QuickBooks
        companies with the demo's lists (realms 9130350000100001, ...). Both answer which ids
        they wrote; seeding again keeps the companies that exist."""
        if name not in SEEDS:
            raise HTTPException(404, f"unknown seed {name!r}; available: {', '.join(SEEDS)}")
        return _sandbox(request).seed(name, companies)

    @router.get("/clock")
    async def clock(request: Request) -> dict[str, Any]:
        c = _sandbox(request).clock
        return {"now": c.now().isoformat(), "offset_seconds": c.offset_seconds}

    @router.post("/clock/advance")
    async def advance(request: Request, body: Advance) -> dict[str, Any]:
        """Move the stand-ins' clock forward (token expiry, code expiry, rate windows)."""
        c = _sandbox(request).clock
        now = c.advance(body.seconds)
        return {"now": now.isoformat(), "offset_seconds": c.offset_seconds}


def fault_routes(router: APIRouter) -> None:
    """Injected faults."""

    @router.get("/faults")
    async def list_faults(request: Request) -> list[dict[str, Any]]:
        return [
            {"id": r.id, "remaining": r.remaining, **r.spec.model_dump()}
            for r in _sandbox(request).faults.rules
        ]

    @router.post("/faults")
    async def add_fault(request: Request, spec: FaultSpec) -> dict[str, Any]:
        """Inject latency, errors, 429s, timeouts, dropped connections, or a write whose answer
        is lost (commit-then-fail: connection cut; commit-then-timeout: no answer)."""
        try:
            rule = _sandbox(request).faults.add(spec)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"id": rule.id, **spec.model_dump()}

    @router.delete("/faults")
    async def clear_faults(request: Request) -> dict[str, Any]:
        _sandbox(request).faults.clear()
        return {"cleared": True}


def log_routes(router: APIRouter) -> None:
    """What the stand-ins received and the webhooks they sent."""

    @router.get("/requests")
    async def requests_log(request: Request, path: str | None = None) -> list[dict[str, Any]]:
        """What the stand-ins received (optionally only paths containing `path`)."""
        return list(_sandbox(request).faults.entries(path))

    @router.delete("/requests")
    async def clear_requests(request: Request) -> dict[str, Any]:
        _sandbox(request).faults.log.clear()
        return {"cleared": True}

    @router.get("/webhooks")
    async def webhooks(request: Request, provider: str | None = None) -> list[dict[str, Any]]:
        """Webhook deliveries the stand-ins made, with each attempt's outcome."""
        return list(_sandbox(request).webhooks.listing(provider))

    @router.post("/webhooks/sending")
    async def webhooks_sending(request: Request, enabled: bool) -> dict[str, Any]:
        """Stop (or resume) sending webhooks: events are still recorded, like deliveries a
        real service loses; the app must catch up without them."""
        _sandbox(request).webhooks.enabled = enabled
        return {"enabled": enabled}
