"""Pipedrive's token-based rate limits (reference §5), on the sandbox clock.

Two limits apply to every API call:
- a daily budget of tokens per company: 30,000 x plan multiplier x seats, reset at midnight
  server time (UTC here); each endpoint costs its documented number of tokens;
- a burst limit per access token: requests in a rolling 2-second window (OAuth apps: Lite 80,
  Growth 160, Premium 400, Ultimate 480).
Both answer 429 "Request over limit". Every call carries x-ratelimit-limit/-remaining/-reset,
which describe the burst window (the daily headers are API-token only, reference §5).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from datetime import timedelta
from typing import Any

from sandbox.clock import Clock

DAILY_BASE = 30_000
PLAN_MULTIPLIER = {"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}
OAUTH_BURST = {"lite": 80, "growth": 160, "premium": 400, "ultimate": 480}
BURST_WINDOW_SECONDS = 2.0

# Token cost per call (reference §4.2 from the v2 spec's x-token-cost; v1 guide: single GET 2,
# list 20, update 10). Fields v2 cost is UNCONFIRMED: charged like v1 fields (20).
COSTS = {
    "users_me": 2,
    "currencies": 20,
    "fields": 20,
    "deal": 1,
    "deals_list": 10,
    "deal_products": 10,
    "deal_discounts": 10,
    "product": 1,
    "products_list": 10,
    "organization": 1,
    "person": 1,
    "invoice_provider": 10,
    # Not in the v2 spec (webhooks are v1 only): UNCONFIRMED, priced like other v1 writes.
    "webhooks": 10,
    "notes": 10,
    "activities": 10,
}


class RateLimits:
    """Daily budgets per company and rolling burst windows per token."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._burst: dict[str, deque[float]] = defaultdict(deque)
        self._daily: dict[tuple[int, str], int] = defaultdict(int)

    @staticmethod
    def plan(company: dict[str, Any]) -> str:
        plan = str(company.get("plan") or "lite")
        return plan if plan in PLAN_MULTIPLIER else "lite"

    def daily_budget(self, company: dict[str, Any], seats: int) -> int:
        override = company.get("daily_budget")
        if override is not None:
            return int(override)
        return DAILY_BASE * PLAN_MULTIPLIER[self.plan(company)] * max(seats, 1)

    def burst_limit(self, company: dict[str, Any]) -> int:
        override = company.get("burst_limit")
        if override is not None:
            return int(override)
        return OAUTH_BURST[self.plan(company)]

    def used_today(self, company_id: int) -> int:
        return self._daily[(company_id, self.clock.now().date().isoformat())]

    def _seconds_to_midnight(self) -> int:
        now = self.clock.now()
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return max(math.ceil((midnight - now).total_seconds()), 1)

    def charge(
        self, company: dict[str, Any], seats: int, token: str, cost: int
    ) -> tuple[bool, dict[str, str]]:
        """Count one call of `cost` tokens. Returns (allowed, x-ratelimit headers).

        Synchronous on purpose: parallel requests on the event loop cannot interleave
        between the check and the count, so the limits hold exactly.
        """
        now = self.clock.timestamp()
        window = self._burst[token]
        while window and window[0] <= now - BURST_WINDOW_SECONDS:
            window.popleft()
        limit = self.burst_limit(company)

        def headers(remaining: int, reset: int) -> dict[str, str]:
            return {
                "x-ratelimit-limit": str(limit),
                "x-ratelimit-remaining": str(max(remaining, 0)),
                "x-ratelimit-reset": str(reset),
            }

        def window_reset() -> int:
            oldest = window[0] if window else now
            return max(math.ceil(oldest + BURST_WINDOW_SECONDS - now), 1)

        if len(window) >= limit:
            return False, headers(0, window_reset())
        day = (int(company["id"]), self.clock.now().date().isoformat())
        if self._daily[day] + cost > self.daily_budget(company, seats):
            return False, headers(limit - len(window), self._seconds_to_midnight())
        window.append(now)
        self._daily[day] += cost
        return True, headers(limit - len(window), window_reset())

    def reset(self) -> None:
        self._burst.clear()
        self._daily.clear()
