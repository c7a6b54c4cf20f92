"""Errors of the Pipedrive side, each with the HTTP status our callers should see."""

from __future__ import annotations

from app.errors import AppError, NotFound, ServiceUnavailable, TooManyRequests
from app.kit.http import RateLimited, Unavailable


class PipedriveError(AppError):
    """Pipedrive answered something we cannot use."""

    status_code = 502
    code = "pipedrive_error"


class PipedriveUnavailable(ServiceUnavailable, Unavailable):
    code = "pipedrive_unavailable"


class PipedriveAuthError(AppError):
    """Pipedrive no longer accepts this install's credentials: the user must reinstall."""

    status_code = 409
    code = "pipedrive_reinstall_needed"


class PipedriveNotFound(NotFound):
    code = "pipedrive_not_found"


class PipedriveRateLimited(TooManyRequests, RateLimited):
    """Pipedrive's rate limit; ``retry_after`` is the wait Pipedrive asked for, if any, and
    ``daily`` says it is the company's daily budget rather than the burst window."""

    code = "pipedrive_rate_limited"

    def __init__(
        self, message: str, *, retry_after: float | None = None, daily: bool = False
    ) -> None:
        advice = retry_after if retry_after is not None else 1.0
        super().__init__(message, headers={"Retry-After": str(int(max(advice, 1)))})
        self.retry_after = retry_after
        self.daily = daily


class PipedriveForbidden(AppError):
    """403 from Pipedrive: a scope is missing or the user may not see the record."""

    status_code = 403
    code = "pipedrive_forbidden"
