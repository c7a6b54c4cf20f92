"""Shared pieces of the Pipedrive stand-in: its state, data access, errors, API auth, paging.

Documents live in the sandbox store under ``pipedrive:<kind>`` keyed ``{company_id}:{id}``
(ids repeat across companies: both demo companies have products 1-6), scoped by company.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from sandbox.pipedrive.ratelimit import RateLimits

if TYPE_CHECKING:
    from sandbox.app import Sandbox
    from sandbox.pipedrive.oauth import PipedriveGrants

PREFIX = "/pipedrive"
ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
INVALID_TOKEN = "Invalid token: access_token is invalid"


def rfc3339(moment: datetime) -> str:
    """API v2 timestamps: RFC 3339 in UTC with a Z, whole seconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class PipedriveError(Exception):
    """An API answer in Pipedrive's error envelope."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_body(status: int, message: str) -> dict[str, Any]:
    # The v1 error envelope (reference §1.1 "API 401", OpenAPI 401/404 responses:
    # success, error, errorCode); v2 answers the same keys.
    return {
        "success": False,
        "error": message,
        "errorCode": status,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


def error_response(exc: PipedriveError, rate_headers: dict[str, str] | None = None) -> JSONResponse:
    """The error envelope; calls that passed auth keep their x-ratelimit-* headers."""
    headers = {**(rate_headers or {}), **exc.headers}
    return JSONResponse(error_body(exc.status, exc.message), exc.status, headers=headers)


class Data:
    """Typed-enough access to the stand-in's documents."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.store = sandbox.store

    @staticmethod
    def _key(company_id: int, item_id: int | str) -> str:
        return f"{company_id}:{item_id}"

    # companies and users
    def companies(self) -> list[dict[str, Any]]:
        return self.store.all("pipedrive:company")

    def company(self, company_id: int) -> dict[str, Any] | None:
        return self.store.get("pipedrive:company", str(company_id))

    def company_by_domain(self, domain: str) -> dict[str, Any] | None:
        return next((c for c in self.companies() if c["domain"] == domain), None)

    def put_company(self, company: dict[str, Any]) -> None:
        self.store.put("pipedrive:company", str(company["id"]), company)

    def users(self, company_id: int | None = None) -> list[dict[str, Any]]:
        scope = None if company_id is None else str(company_id)
        return self.store.all("pipedrive:user", scope)

    def user(self, user_id: int) -> dict[str, Any] | None:
        return self.store.get("pipedrive:user", str(user_id))

    def put_user(self, user: dict[str, Any]) -> None:
        self.store.put("pipedrive:user", str(user["id"]), user, scope=str(user["company_id"]))

    # company-scoped entities: deal, product, organization, person, deal_discount, deal_product
    def get(self, kind: str, company_id: int, item_id: int | str) -> dict[str, Any] | None:
        return self.store.get(f"pipedrive:{kind}", self._key(company_id, item_id))

    def items(self, kind: str, company_id: int) -> list[dict[str, Any]]:
        return self.store.all(f"pipedrive:{kind}", str(company_id))

    def put(self, kind: str, company_id: int, item: dict[str, Any]) -> None:
        self.store.put(
            f"pipedrive:{kind}", self._key(company_id, item["id"]), item, scope=str(company_id)
        )

    def delete(self, kind: str, company_id: int, item_id: int | str) -> None:
        self.store.delete(f"pipedrive:{kind}", self._key(company_id, item_id))

    def deal_lines(self, company_id: int, deal_id: int) -> list[dict[str, Any]]:
        lines = self.store.all("pipedrive:deal_product", f"{company_id}:{deal_id}")
        return sorted(lines, key=lambda line: (line["order_nr"], line["id"]))

    def put_line(self, company_id: int, line: dict[str, Any]) -> None:
        self.store.put(
            "pipedrive:deal_product",
            self._key(company_id, line["id"]),
            line,
            scope=f"{company_id}:{line['deal_id']}",
        )

    def deal_discounts(self, company_id: int, deal_id: int) -> list[dict[str, Any]]:
        return self.store.all("pipedrive:deal_discount", f"{company_id}:{deal_id}")

    def put_discount(self, company_id: int, discount: dict[str, Any]) -> None:
        self.store.put(
            "pipedrive:deal_discount",
            self._key(company_id, discount["id"]),
            discount,
            scope=f"{company_id}:{discount['deal_id']}",
        )

    def find_deal(self, deal_id: int) -> tuple[int, dict[str, Any]] | None:
        """Deal ids are unique across the stand-in's companies (the control API's view)."""
        for company in self.companies():
            deal = self.get("deal", company["id"], deal_id)
            if deal is not None:
                return company["id"], deal
        return None

    # field definitions, in display order
    def fields(self, company_id: int, entity: str) -> list[dict[str, Any]]:
        return self.store.all("pipedrive:field", f"{company_id}:{entity}")

    def put_field(self, company_id: int, entity: str, definition: dict[str, Any]) -> None:
        self.store.put(
            "pipedrive:field",
            f"{company_id}:{entity}:{definition['key']}",
            definition,
            scope=f"{company_id}:{entity}",
        )


@dataclass
class Pipedrive:
    """The stand-in's own runtime state next to the shared sandbox."""

    sandbox: Sandbox
    grants: PipedriveGrants
    limits: RateLimits
    data: Data
    # Non-interactive consent for tests: {"user_id": 101} or {"deny": True}.
    auto_approve: dict[str, Any] | None = None
    uninstalls: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.limits.reset()
        self.auto_approve = None
        self.uninstalls.clear()

    def api_domain(self, company: dict[str, Any]) -> str:
        return f"{self.sandbox.settings.public_url.rstrip('/')}{PREFIX}/c/{company['domain']}"


def pipedrive_of(request: Request) -> Pipedrive:
    pd: Pipedrive = request.app.state.sandbox.extras["pipedrive"]
    return pd


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
