"""The provider error tree: every adapter failure is one of these, each carrying its HTTP status.

Callers never see provider JSON: the adapters translate Xero's ``ValidationErrors`` and
QuickBooks' ``Fault`` into these, with the provider's own message in plain words and, where it
can be told, the field it concerns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.errors import AppError
from app.kit.circuit import Paused, describe
from app.kit.http import RateLimited, Unavailable


@dataclass(frozen=True)
class FieldMessage:
    """One provider complaint: the field it concerns (our DTO field name, if known) and why."""

    message: str
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message}


class ProviderError(AppError):
    """Base of every adapter failure; ``provider`` is ``xero`` or ``quickbooks``."""

    status_code = 502
    code = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        field: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(message, field=field, code=code, extra=extra, headers=headers)
        self.provider = provider
        # The provider's own error number (QuickBooks Fault code, Xero ErrorNumber) for logs.
        self.provider_code = provider_code

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["provider"] = self.provider
        return body


class ProviderValidationError(ProviderError):
    """The provider refused the data (422). ``errors`` lists every complaint in plain words."""

    status_code = 422
    code = "provider_validation"

    def __init__(
        self,
        errors: list[FieldMessage],
        *,
        provider: str,
        provider_code: str | None = None,
    ) -> None:
        if not errors:
            errors = [FieldMessage("The provider rejected the request.")]
        message = "; ".join(e.message for e in errors)
        first_field = next((e.field for e in errors if e.field), None)
        super().__init__(message, provider=provider, field=first_field, provider_code=provider_code)
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["errors"] = [e.to_dict() for e in self.errors]
        return body


class ProviderNotFound(ProviderError):
    """The object does not exist at the provider (404), or was deleted there."""

    status_code = 404
    code = "provider_not_found"


class ProviderConflict(ProviderError):
    """The object changed or is in a state that forbids the operation (409)."""

    status_code = 409
    code = "provider_conflict"


class ProviderUnsupported(ProviderError):
    """The provider has no such operation (e.g. approval in QuickBooks); see ``Features``."""

    status_code = 409
    code = "provider_unsupported"


class ProviderRateLimited(ProviderError, RateLimited):
    """The provider's rate limit was hit (429).

    ``retry_after`` is in seconds. ``daily`` means the tenant's daily allowance is spent: the
    caller should stop calling this tenant until the window resets, never loop.
    """

    status_code = 429
    code = "provider_rate_limited"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        retry_after: float | None = None,
        daily: bool = False,
    ) -> None:
        headers = {"Retry-After": str(int(retry_after))} if retry_after else {}
        super().__init__(
            message,
            provider=provider,
            headers=headers,
            extra={"retry_after": retry_after, "daily_limit": daily},
        )
        self.retry_after = retry_after
        self.daily = daily


class ProviderAuthError(ProviderError):
    """The provider refused our credentials (token refused, ``invalid_grant``, tenant gone).

    The caller marks the connection ``needs_reauth``; ``reason`` is ``invalid_grant``,
    ``token_rejected``, ``tenant_access`` or ``client`` (our own client credentials refused).
    """

    status_code = 409
    code = "provider_auth"

    def __init__(self, message: str, *, provider: str, reason: str = "token_rejected") -> None:
        super().__init__(message, provider=provider, extra={"reason": reason})
        self.reason = reason


class ProviderUnavailable(ProviderError, Unavailable):
    """The provider is down, timed out or answered 5xx (503); try again after ``retry_after``.

    ``outcome_unknown`` is set when a write may have reached the provider before the failure:
    the caller must retry with the same idempotency key, never record the object as created.
    """

    status_code = 503
    code = "provider_unavailable"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        retry_after: float | None = 30,
        outcome_unknown: bool = False,
    ) -> None:
        headers = {"Retry-After": str(int(retry_after))} if retry_after else {}
        super().__init__(
            message,
            provider=provider,
            headers=headers,
            extra={"retry_after": retry_after, "outcome_unknown": outcome_unknown},
        )
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown

    def mark_outcome_unknown(self) -> None:
        self.outcome_unknown = True
        self.extra["outcome_unknown"] = True


class ProviderCircuitOpen(ProviderError):
    """The provider kept failing for this organisation, so calls to it are paused for a
    cool-down (503, Retry-After): nothing was sent. Not a ``ProviderUnavailable``: no answer
    was lost, so a create refused this way created nothing."""

    status_code = 503
    code = "provider_circuit_open"

    def __init__(self, paused: Paused, *, provider: str, label: str) -> None:
        super().__init__(
            describe(paused, label),
            provider=provider,
            headers=paused.headers(),
            extra={
                "retry_after": max(1, round(paused.retry_after)),
                "failures": paused.failures,
                "paused_until": paused.until_text,
            },
        )
        self.paused = paused


def circuit_open(provider: str, label: str) -> Callable[[Paused], ProviderCircuitOpen]:
    """The Transport's error when the organisation's circuit is open."""

    def error(paused: Paused) -> ProviderCircuitOpen:
        return ProviderCircuitOpen(paused, provider=provider, label=label)

    return error


def unreachable(provider: str) -> Callable[[str, bool, float], ProviderUnavailable]:
    """The Transport's error for a timeout or connection failure talking to ``provider``."""

    def error(what: str, safe: bool, retry_after: float) -> ProviderUnavailable:
        return ProviderUnavailable(
            f"{provider.capitalize()} {what}; try again shortly.",
            provider=provider,
            retry_after=retry_after,
            outcome_unknown=not safe,
        )

    return error


def over_budget(provider: str) -> Callable[[float], ProviderRateLimited]:
    """The Transport's error when our own call budget for a tenant is spent for longer than
    the caller waits (a spent minute in an interactive request, a spent day): nothing is sent.
    A job defers itself on it; a person is told when to try again."""

    def error(retry_after: float) -> ProviderRateLimited:
        return ProviderRateLimited(
            f"{provider.capitalize()} allows no more calls for this organisation right now; "
            f"try again in {max(1, round(retry_after))} s.",
            provider=provider,
            retry_after=retry_after,
            daily=retry_after > 3600,
        )

    return error
