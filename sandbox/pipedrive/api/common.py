"""What every Pipedrive API endpoint shares: the caller's token and company, rate-limit
charging, the success envelope, id parsing and paging (v2 cursors, v1 offsets)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from sandbox.pipedrive.errors import INVALID_TOKEN, PipedriveError
from sandbox.pipedrive.state import Data, Pipedrive, pipedrive_of


@dataclass
class ApiContext:
    """The caller of one API request: whose token, which company."""

    pd: Pipedrive
    company: dict[str, Any]
    user: dict[str, Any]
    token: str

    @property
    def company_id(self) -> int:
        return int(self.company["id"])

    @property
    def data(self) -> Data:
        return self.pd.data


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def api_call(cost: int) -> Any:
    """A dependency authenticating the Bearer token and charging `cost` rate-limit tokens.

    Under ``/pipedrive/c/{domain}`` (an ``api_domain``) the token must belong to that company;
    under ``/pipedrive/api`` (api.pipedrive.com) the token alone picks the company.
    """

    async def dependency(request: Request, response: Response) -> ApiContext:
        pd = pipedrive_of(request)
        token = _bearer(request)
        record = pd.grants.access(token) if token else None
        grant = pd.grants.grant(record["grant_id"]) if record else None
        company = pd.data.company(int(grant["company_id"])) if grant else None
        user = pd.data.user(int(grant["user_id"])) if grant else None
        if token is None or company is None or user is None:
            raise PipedriveError(401, INVALID_TOKEN)
        domain = request.path_params.get("domain")
        if domain is not None and domain != company["domain"]:
            # A token is bound to one company (reference §1.3); another company's api_domain
            # does not know it. The real answer for this case is UNCONFIRMED: 401 is the
            # answer that makes a client re-authenticate instead of reading foreign data.
            raise PipedriveError(401, INVALID_TOKEN)
        allowed, headers = pd.limits.charge(company, len(pd.data.users(company["id"])), token, cost)
        response.headers.update(headers)
        if not allowed:
            raise PipedriveError(429, "Request over limit", headers=headers)
        request.state.pipedrive_headers = headers
        return ApiContext(pd, company, user, token)

    return dependency


def has_scope(ctx: ApiContext, *any_of: str) -> bool:
    """Whether the token's grant holds one of ``any_of`` (``x:full`` also grants ``x:read``)."""
    record = ctx.pd.grants.access(ctx.token) or {}
    grant = ctx.pd.grants.grant(record.get("grant_id", "")) or {}
    granted = set(str(grant.get("scope", "")).replace(" ", ",").split(","))
    granted |= {s.replace(":full", ":read") for s in granted if s.endswith(":full")}
    return any(scope in granted for scope in any_of)


def ok(data: Any, additional_data: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "data": data}
    if additional_data is not None:
        body["additional_data"] = additional_data
    return body


def parse_id(raw: str, what: str) -> int:
    """Path ids are positive integers; anything else is the API's 400 validation error."""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise PipedriveError(
            400, f"Validation failed: {what}: Parameter must be a positive integer"
        )
    return value


def parse_ids(raw: str | None, what: str, maximum: int = 100) -> list[int]:
    if not raw:
        raise PipedriveError(400, f"Validation failed: {what}: Parameter is required")
    ids = [parse_id(part.strip(), what) for part in raw.split(",") if part.strip()]
    if not ids:
        raise PipedriveError(400, f"Validation failed: {what}: Parameter is required")
    if len(ids) > maximum:
        raise PipedriveError(
            400, f"Validation failed: {what}: Parameter must contain at most {maximum} items"
        )
    return ids


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "o" or not number.isdigit():
            raise ValueError(raw)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise PipedriveError(400, "Validation failed: cursor: Invalid cursor") from exc


def paginate(
    items: list[Any], cursor: str | None, limit: str | None, default: int = 100
) -> tuple[list[Any], dict[str, Any]]:
    """API v2 cursor paging: opaque `cursor`, `limit` 1..500, `additional_data.next_cursor`."""
    size = default
    if limit is not None:
        if not limit.isdigit() or not 1 <= int(limit) <= 500:
            # The v2 spec declares limit ≤ 500; whether larger values are clamped or refused
            # is UNCONFIRMED, so refuse: a client relying on clamping would break for real.
            raise PipedriveError(
                400, "Validation failed: limit: Parameter must be an integer between 1 and 500"
            )
        size = int(limit)
    start = _decode_cursor(cursor) if cursor else 0
    page = items[start : start + size]
    following = start + size
    next_cursor = _encode_cursor(following) if following < len(items) else None
    return page, {"next_cursor": next_cursor}


def paginate_v1(
    items: list[Any], start: str | None, limit: str | None
) -> tuple[list[Any], dict[str, Any]]:
    """API v1 offset paging: `start`, `limit`, `additional_data.pagination`."""
    first = int(start) if start and start.isdigit() else 0
    size = int(limit) if limit and limit.isdigit() and 0 < int(limit) <= 500 else 100
    page = items[first : first + size]
    more = first + size < len(items)
    pagination = {
        "start": first,
        "limit": size,
        "more_items_in_collection": more,
    }
    if more:
        pagination["next_start"] = first + size
    return page, {"pagination": pagination}
