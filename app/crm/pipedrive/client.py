"""The Pipedrive REST client: API v2 for deals, products, organizations, persons and fields.

- Authenticates with one installation's tokens (``InstallationTokens``), refreshing ahead of
  expiry and once more when Pipedrive answers 401.
- Sends through the shared ``app.kit.http.Transport`` (settings in ``transport.py``), which
  honours ``x-ratelimit-*``: it waits out an exhausted burst window before the next call and
  backs off on 429; a long wait (the company's daily budget) becomes a clear 429 for our caller
  instead of a hung request.
- Reads one deal's data concurrently: deal, lines and discounts together, then organization,
  person and the lines' products (batched by ids).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx2

from app.crm.pipedrive.activities import DealHistory
from app.crm.pipedrive.errors import (
    PipedriveAuthError,
    PipedriveError,
    PipedriveNotFound,
)
from app.crm.pipedrive.oauth import parse_json
from app.crm.pipedrive.schemas import (
    ENTITIES,
    Activity,
    ActivityIn,
    Deal,
    DealData,
    DealDiscount,
    DealInstallment,
    DealProduct,
    Entity,
    FieldDefinition,
    FieldOption,
    Note,
    Organization,
    Person,
    Product,
    Webhook,
    WebhookIn,
)
from app.crm.pipedrive.tokens import Credentials
from app.crm.pipedrive.transport import budgets, make_transport
from app.kit.http import Budgets, Sleep

PAGE_LIMIT = 500
IDS_BATCH = 100
CUSTOM_KEY = re.compile(r"^[0-9a-f]{40}$")


class TokenSource(Protocol):
    async def current(self) -> Credentials: ...

    async def after_rejection(self, rejected: str) -> Credentials: ...


def _ref_id(value: Any) -> int | None:
    """v2 gives plain ids; v1 gave ``{"value": id, ...}`` objects."""
    if isinstance(value, dict):
        value = value.get("value") or value.get("id")
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class PipedriveClient:
    """API calls on behalf of one installed user (credentials come from ``tokens``)."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        tokens: TokenSource,
        sleep: Sleep | None = None,
        rate_budgets: Budgets | None = None,
    ):
        self.http = http
        self.tokens = tokens
        self.budgets = rate_budgets or budgets
        self.transport = make_transport(http, sleep, self.budgets)

    async def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        creds: Credentials,
        body: Any = None,
    ) -> httpx2.Response:
        domain = creds.api_domain.rstrip("/")
        return await self.transport.send(
            method,
            f"{domain}{path}",
            tenant=domain,
            # A DELETE repeated finds nothing to delete: as safe to retry as a GET.
            safe=method in ("GET", "DELETE"),
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {creds.access_token}"},
        )

    async def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        """One API call with auth, refresh-on-401, rate-limit waits and retries of transient
        failures (the shared ``Transport``); returns the decoded JSON body."""
        creds = await self.tokens.current()
        try:
            response = await self._send(method, path, params, creds, body)
        except PipedriveAuthError:
            # Pipedrive refused the token (rotated elsewhere, revoked early): refresh once.
            creds = await self.tokens.after_rejection(creds.access_token)
            response = await self._send(method, path, params, creds, body)
        return parse_json(response) if response.content else None

    async def _data(self, path: str, params: dict[str, Any] | None = None) -> Any:
        body = await self.request("GET", path, params)
        if not isinstance(body, dict) or "data" not in body:
            raise PipedriveError(f"Pipedrive's answer to {path} has no data")
        return body["data"]

    async def _paged_v2(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        items: list[Any] = []
        query = dict(params or {}, limit=PAGE_LIMIT)
        while True:
            body = await self.request("GET", path, query)
            items.extend((body or {}).get("data") or [])
            cursor = ((body or {}).get("additional_data") or {}).get("next_cursor")
            if not cursor:
                return items
            query["cursor"] = cursor

    async def _paged_v1(self, path: str) -> list[Any]:
        items: list[Any] = []
        start = 0
        while True:
            body = await self.request("GET", path, {"start": start, "limit": PAGE_LIMIT})
            items.extend((body or {}).get("data") or [])
            pagination = ((body or {}).get("additional_data") or {}).get("pagination") or {}
            if not pagination.get("more_items_in_collection"):
                return items
            start = int(pagination.get("next_start") or start + PAGE_LIMIT)

    # entities

    async def deal(self, deal_id: int) -> Deal:
        data = await self._data(f"/api/v2/deals/{deal_id}")
        deal = Deal.model_validate(
            dict(data, org_id=_ref_id(data.get("org_id")), person_id=_ref_id(data.get("person_id")))
        )
        return deal.model_copy(update={"raw": data})

    async def deals(self, limit: int = 20) -> list[Deal]:
        """The most recently updated deals (for choosing a sample deal)."""
        body = await self.request(
            "GET",
            "/api/v2/deals",
            {"limit": limit, "sort_by": "update_time", "sort_direction": "desc"},
        )
        rows = (body or {}).get("data") or []
        return [
            Deal.model_validate(
                dict(d, org_id=_ref_id(d.get("org_id")), person_id=_ref_id(d.get("person_id")))
            )
            for d in rows
        ]

    async def updated_deals(self, since: datetime) -> list[Deal]:
        """Deals updated since ``since`` (the polling backstop of deal webhooks)."""
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        params = {"updated_since": stamp, "sort_by": "update_time", "sort_direction": "asc"}
        rows = await self._paged_v2("/api/v2/deals", params)
        return [Deal.model_validate(dict(d, org_id=None, person_id=None)) for d in rows]

    async def stage(self, stage_id: int) -> dict[str, Any]:
        """A pipeline stage (``id``, ``name``, ``pipeline_id``); PipedriveNotFound when gone."""
        data = await self._data(f"/api/v2/stages/{stage_id}")
        return dict(data) if isinstance(data, dict) else {}

    async def deal_products(self, deal_id: int) -> list[DealProduct]:
        rows = await self._paged_v2(f"/api/v2/deals/{deal_id}/products")
        return [DealProduct.model_validate(r) for r in rows]

    async def deal_installments(self, deal_id: int) -> list[DealInstallment]:
        """The deal's installments, by billing date (``GET /api/v2/deals/installments``)."""
        rows = await self._paged_v2(
            "/api/v2/deals/installments",
            {"deal_ids": str(deal_id), "sort_by": "billing_date", "sort_direction": "asc"},
        )
        return [DealInstallment.model_validate(r) for r in rows]

    async def deal_discounts(self, deal_id: int) -> list[DealDiscount]:
        rows = await self._data(f"/api/v2/deals/{deal_id}/discounts")
        return [DealDiscount.model_validate(r) for r in rows or []]

    async def products(self, ids: Sequence[int]) -> dict[int, Product]:
        """Products by id, batched (``ids`` takes at most 100), batches fetched concurrently."""
        unique = sorted(set(ids))
        batches = [unique[i : i + IDS_BATCH] for i in range(0, len(unique), IDS_BATCH)]
        results = await asyncio.gather(
            *(self._paged_v2("/api/v2/products", {"ids": ",".join(map(str, b))}) for b in batches)
        )
        found: dict[int, Product] = {}
        for rows in results:
            for row in rows:
                product = Product.model_validate(row)
                found[product.id] = product
        return found

    async def organization(self, org_id: int) -> Organization:
        data = await self._data(f"/api/v2/organizations/{org_id}")
        return Organization.model_validate(data).model_copy(update={"raw": data})

    async def person(self, person_id: int) -> Person:
        data = await self._data(f"/api/v2/persons/{person_id}")
        return Person.model_validate(data).model_copy(update={"raw": data})

    async def _optional(self, call: Awaitable[Any]) -> Any:
        # A deleted organization or person leaves a dangling id on the deal: treat as absent.
        try:
            return await call
        except PipedriveNotFound:
            return None

    async def deal_data(self, deal_id: int) -> DealData:
        """The deal, its lines, discounts, organization, person and line products, read in two
        concurrent rounds."""
        answers = await asyncio.gather(
            self.deal(deal_id),
            self.deal_products(deal_id),
            self.deal_discounts(deal_id),
            return_exceptions=True,
        )
        # The deal's own failure wins: a missing deal is "no deal N", not whichever of its
        # lines or discounts failed first. Every read has finished before anything is raised.
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answers[0] if isinstance(answers[0], BaseException) else answer
        deal, lines, discounts = answers
        assert isinstance(deal, Deal) and isinstance(lines, list) and isinstance(discounts, list)

        async def none() -> None:
            return None

        product_ids = [line.product_id for line in lines if line.product_id]
        org, person, catalog = await asyncio.gather(
            self._optional(self.organization(deal.org_id)) if deal.org_id else none(),
            self._optional(self.person(deal.person_id)) if deal.person_id else none(),
            self.products(product_ids) if product_ids else asyncio.sleep(0, result={}),
        )
        return DealData(
            deal=deal,
            products=lines,
            discounts=discounts,
            organization=org,
            person=person,
            catalog=catalog,
        )

    # webhook subscriptions (API v1 only; the ``admin`` scope)

    async def webhooks(self) -> list[Webhook]:
        """The app's webhook subscriptions in the company."""
        rows = await self._data("/api/v1/webhooks")
        return [Webhook.model_validate(r) for r in rows or []]

    async def create_webhook(self, subscription: WebhookIn) -> Webhook:
        body = await self.request(
            "POST", "/api/v1/webhooks", body=subscription.model_dump(exclude_none=True)
        )
        return Webhook.model_validate((body or {}).get("data") or {})

    async def delete_webhook(self, webhook_id: int) -> None:
        """Delete a subscription; one already gone counts as deleted."""
        try:
            await self.request("DELETE", f"/api/v1/webhooks/{webhook_id}")
        except PipedriveNotFound:
            return

    # a deal's history: notes (v1) and activities (v2), in activities.py

    async def add_note(self, deal_id: int, content: str, pinned: bool = False) -> int:
        return await DealHistory(self).add_note(deal_id, content, pinned)

    async def notes(self, deal_id: int) -> list[Note]:
        return await DealHistory(self).notes(deal_id)

    async def find_note(self, deal_id: int, marker: str, since: datetime) -> int | None:
        return await DealHistory(self).find_note(deal_id, marker, since)

    async def create_activity(self, activity: ActivityIn) -> Activity:
        return await DealHistory(self).create_activity(activity)

    async def update_activity(self, activity_id: int, *, done: bool) -> Activity:
        return await DealHistory(self).update_activity(activity_id, done=done)

    async def activities(self, deal_id: int) -> list[Activity]:
        return await DealHistory(self).activities(deal_id)

    # field definitions

    async def field_definitions(self, entity: Entity) -> list[FieldDefinition]:
        """All fields of an entity, custom ones included, from the v2 Fields API, falling back
        to v1 when v2 does not serve them (v2 Fields is recent and UNCONFIRMED)."""
        try:
            rows = await self._paged_v2(f"/api/v2/{entity}Fields")
            return [_field_from_v2(entity, r) for r in rows if r.get("field_code")]
        except PipedriveNotFound:
            rows = await self._paged_v1(f"/api/v1/{entity}Fields")
            return [_field_from_v1(entity, r) for r in rows if r.get("key")]

    async def all_field_definitions(self) -> dict[Entity, list[FieldDefinition]]:
        results = await asyncio.gather(*(self.field_definitions(e) for e in ENTITIES))
        return dict(zip(ENTITIES, results, strict=True))


def _options(raw: Any) -> list[FieldOption]:
    options = []
    for option in raw or []:
        if isinstance(option, dict) and option.get("id") is not None:
            options.append(FieldOption(id=option["id"], label=str(option.get("label", ""))))
    return options


def _field_from_v2(entity: Entity, row: dict[str, Any]) -> FieldDefinition:
    key = str(row["field_code"])
    custom = row.get("is_custom_field")
    return FieldDefinition(
        entity=entity,
        key=key,
        name=str(row.get("field_name") or key),
        field_type=str(row.get("field_type") or "varchar"),
        is_custom=bool(custom) if custom is not None else bool(CUSTOM_KEY.match(key)),
        options=_options(row.get("options")),
    )


def _field_from_v1(entity: Entity, row: dict[str, Any]) -> FieldDefinition:
    key = str(row["key"])
    return FieldDefinition(
        entity=entity,
        key=key,
        name=str(row.get("name") or key),
        field_type=str(row.get("field_type") or "varchar"),
        is_custom=bool(CUSTOM_KEY.match(key)),
        options=_options(row.get("options")),
    )


class FieldDefinitionCache:
    """Field definitions per company for a short time: the preferences page and every invoice
    draft need them, and they change rarely. Loads are single-flight per company."""

    def __init__(self, ttl_seconds: float = 60.0) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, dict[Entity, list[FieldDefinition]]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.loads = 0

    def invalidate(self, company_id: str) -> None:
        self._entries.pop(company_id, None)

    async def get(
        self, company_id: str, client: PipedriveClient
    ) -> dict[Entity, list[FieldDefinition]]:
        entry = self._entries.get(company_id)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        lock = self._locks.setdefault(company_id, asyncio.Lock())
        async with lock:
            entry = self._entries.get(company_id)
            if entry and entry[0] > time.monotonic():
                return entry[1]
            fields = await client.all_field_definitions()
            self.loads += 1
            self._entries[company_id] = (time.monotonic() + self.ttl, fields)
            return fields
