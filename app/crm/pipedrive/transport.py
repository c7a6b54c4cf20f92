"""How the Pipedrive client talks HTTP: its settings for the shared ``app.kit.http.Transport``.

Pipedrive's answers become our errors here; its ``x-ratelimit-*`` headers become waits: an
exhausted burst window holds the company's next call, a 429 is retried after its reset (else
exponentially), and a long wait (the company's daily budget) is a clear 429 at once, with later
calls failing fast until it passes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2

from app.crm.pipedrive.errors import (
    PipedriveAuthError,
    PipedriveError,
    PipedriveForbidden,
    PipedriveNotFound,
    PipedriveRateLimited,
    PipedriveUnavailable,
)
from app.crm.pipedrive.oauth import parse_json
from app.kit.http import Budgets, RateLimits, RetryPolicy, Sleep, Transport

MAX_ATTEMPTS = 4
# Waits longer than this are not a burst window but the daily budget: give up and say so.
MAX_RATE_WAIT_SECONDS = 10.0

# Pipedrive's burst window is per token and its daily budget per company; neither is a
# per-minute count we could pace ahead of time, so the budget here only holds what the rate
# headers said (see ``pause_after``) and refuses calls while the daily budget is spent.
RATE_LIMITS = RateLimits(per_minute=None, concurrent=None)
RETRY = RetryPolicy(
    attempts=MAX_ATTEMPTS,
    backoff_initial=0.5,
    backoff_max=MAX_RATE_WAIT_SECONDS,
    max_retry_after=MAX_RATE_WAIT_SECONDS,
)
# What Pipedrive's rate headers told us, per company (``api_domain``), shared by every client
# in the process: clients live one request long, the limits do not.
budgets = Budgets(RATE_LIMITS)


def _header_float(response: httpx2.Response, name: str) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _reset_seconds(response: httpx2.Response) -> float | None:
    """Seconds until the rate window resets: ``x-ratelimit-reset`` (seconds, or an epoch
    timestamp: the unit is not documented), else ``Retry-After`` (UNCONFIRMED for Pipedrive)."""
    reset = _header_float(response, "x-ratelimit-reset")
    if reset is None:
        reset = _header_float(response, "retry-after")
    if reset is None:
        return None
    if reset > 1_000_000_000:
        reset = reset - time.time()
    return max(reset, 0.0)


def pause_after(response: httpx2.Response) -> float | None:
    """The burst window is spent (``x-ratelimit-remaining: 0``): wait before the next call."""
    remaining = _header_float(response, "x-ratelimit-remaining")
    if remaining is not None and remaining <= 0:
        return min(_reset_seconds(response) or 1.0, MAX_RATE_WAIT_SECONDS)
    return None


def _message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message", "error_info"):
            if body.get(key):
                return str(body[key])
    return ""


def parse_error(response: httpx2.Response) -> Exception:
    """Pipedrive's non-2xx answer as our error (401 is handled by the caller: refresh once)."""
    status = response.status_code
    path = response.request.url.path
    if status == 429:
        wait = _reset_seconds(response)
        return PipedriveRateLimited(
            "Pipedrive's rate limit for this company is reached; try again later",
            retry_after=wait,
            # A wait this long is the company's daily budget, not the burst window.
            daily=wait is not None and wait > MAX_RATE_WAIT_SECONDS,
        )
    if status >= 500:
        return PipedriveUnavailable(f"Pipedrive answered {status}; try again shortly")
    body = parse_json(response) if response.content else None
    if status == 401:
        return PipedriveAuthError(
            "Pipedrive no longer accepts this user's access; reinstall the app"
        )
    if status == 403:
        return PipedriveForbidden(
            f"Pipedrive refused access to {path}: {_message(body) or 'scope missing'}"
        )
    if status == 404:
        return PipedriveNotFound(f"Pipedrive has no {path}")
    return PipedriveError(f"Pipedrive answered {status} to {path}: {_message(body) or 'no detail'}")


def unreachable(what: str, safe: bool, retry_after: float) -> Exception:
    return PipedriveUnavailable("Pipedrive could not be reached")


def refused(wait: float) -> Exception:
    # Calling again before the daily budget resets only earns more 429s (and Pipedrive bans
    # traffic that keeps going), so fail fast instead.
    return PipedriveRateLimited(
        "Pipedrive's daily API budget for this company is used up; try again later",
        retry_after=int(wait) + 1,
        daily=True,
    )


def make_transport(http: httpx2.AsyncClient, sleep: Sleep | None, shared: Budgets) -> Transport:
    """A Transport for one client; ``shared`` holds the per-company budget across clients."""
    return Transport(
        http,
        "pipedrive",
        RATE_LIMITS,
        parse_error,
        RETRY,
        unreachable=unreachable,
        refused=refused,
        pause_after=pause_after,
        budgets=shared,
        sleep=sleep or asyncio.sleep,
    )
