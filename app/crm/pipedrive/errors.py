"""Errors of the Pipedrive side, each with the HTTP status our callers should see."""

from __future__ import annotations

from app.errors import AppError, NotFound, ServiceUnavailable, TooManyRequests


class PipedriveError(AppError):
    """Pipedrive answered something we cannot use."""

    status_code = 502
    code = "pipedrive_error"


class PipedriveUnavailable(ServiceUnavailable):
    code = "pipedrive_unavailable"


class PipedriveAuthError(AppError):
    """Pipedrive no longer accepts this install's credentials: the user must reinstall."""

    status_code = 409
    code = "pipedrive_reinstall_needed"


class PipedriveNotFound(NotFound):
    code = "pipedrive_not_found"


class PipedriveRateLimited(TooManyRequests):
    code = "pipedrive_rate_limited"


class PipedriveForbidden(AppError):
    """403 from Pipedrive: a scope is missing or the user may not see the record."""

    status_code = 403
    code = "pipedrive_forbidden"
