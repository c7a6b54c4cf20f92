"""The QuickBooks adapter's plumbing and everything but invoices: requests with
``minorversion`` and ``requestid``, Faults inside 200s, queries, SyncToken retries,
organisation, lookups, customers and items.

Every URL comes from ``QuickBooksSettings`` (``api_url``, ``app_url``, ``minor_version``);
credentials come per call, ``tenant_id`` being the realmId. Every write carries a ``requestid``
(the caller's idempotency key for creates, a fresh one otherwise), so retries replay the
original answer instead of writing twice (quickbooks.md §7).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx2

from app.config import QuickBooksSettings
from app.providers.adapter import HttpAdapter
from app.providers.base import (
    Account,
    Contact,
    ContactInput,
    Credentials,
    Currency,
    Features,
    Item,
    ItemInput,
    Organisation,
    Page,
    TaxRate,
    Template,
)
from app.providers.errors import (
    FieldMessage,
    ProviderConflict,
    ProviderNotFound,
    ProviderValidationError,
)
from app.providers.jsonutil import loads
from app.providers.quickbooks import records
from app.providers.quickbooks.errors import fault_error, parse_error
from app.providers.quickbooks.oauth import QuickBooksOAuth
from app.providers.quickbooks.spec import (
    PROVIDER,
    RATE_LIMITS,
    REQUEST_ID_MAX,
)

T = TypeVar("T")


class QuickBooksApi(HttpAdapter):
    """Everything of the QuickBooks adapter but invoices (see ``client.QuickBooksProvider``)."""

    provider = PROVIDER
    rate_limits = RATE_LIMITS
    error_parser = staticmethod(parse_error)
    oauth_class = QuickBooksOAuth
    settings: QuickBooksSettings

    # --- plumbing ---------------------------------------------------------------------------

    def company_url(self, realm_id: str) -> str:
        return f"{self.settings.api_url}/v3/company/{realm_id}"

    async def _call(
        self,
        creds: Credentials,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        request_id: str | None = None,
        accept: str = "application/json",
        content_type: str | None = None,
    ) -> httpx2.Response:
        query: dict[str, Any] = {"minorversion": self.settings.minor_version, **(params or {})}
        if request_id:
            query["requestid"] = request_id
        headers = {"Accept": accept}
        if body is None and content_type:
            headers["Content-Type"] = content_type
        return await self._send(
            creds,
            method,
            f"{self.company_url(creds.tenant_id)}/{path}",
            safe=method == "GET" or request_id is not None,
            headers=headers,
            params=query,
            body=body,
            # QuickBooks wants a (possibly empty) body on every POST.
            content=b"" if method == "POST" and body is None else None,
        )

    async def _json(self, creds: Credentials, method: str, path: str, **kw: Any) -> Any:
        response = await self._call(creds, method, path, **kw)
        data = loads(response.content) if response.content else {}
        # HTTP 200 can still carry a Fault (quickbooks.md §10).
        fault = data.get("Fault") or data.get("fault") if isinstance(data, dict) else None
        if isinstance(fault, dict):
            raise fault_error(fault, response.status_code)
        return data

    async def _query(self, creds: Credentials, entity: str, statement: str) -> list[Any]:
        data = await self._json(creds, "GET", "query", params={"query": statement})
        rows: list[Any] = (data.get("QueryResponse") or {}).get(entity) or []
        return rows

    async def _stale_retry(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run a SyncToken write; on a stale token (5010) re-read and try once more."""
        try:
            return await attempt()
        except ProviderConflict as exc:
            if exc.provider_code != "5010":
                raise
            return await attempt()

    # --- organisation and lookups -------------------------------------------------------------

    async def _company_and_preferences(
        self, creds: Credentials
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        company, prefs = await asyncio.gather(
            self._json(creds, "GET", f"companyinfo/{creds.tenant_id}"),
            self._json(creds, "GET", "preferences"),
        )
        return company.get("CompanyInfo") or {}, prefs.get("Preferences") or {}

    async def get_organisation(self, creds: Credentials) -> Organisation:
        company, prefs = await self._company_and_preferences(creds)
        return records.organisation_from_json(creds.tenant_id, company, prefs)

    async def get_features(self, creds: Credentials) -> Features:
        company, prefs = await self._company_and_preferences(creds)
        return records.features_from_json(company, prefs)

    async def list_currencies(self, creds: Credentials) -> list[Currency]:
        prefs = (await self._json(creds, "GET", "preferences")).get("Preferences") or {}
        currency_prefs = prefs.get("CurrencyPrefs") or {}
        home = records.ref(currency_prefs.get("HomeCurrency")) or "USD"
        if not currency_prefs.get("MultiCurrencyEnabled"):
            return records.currencies_from_json(home, [])
        try:
            rows = await self._query(creds, "CompanyCurrency", records.select("CompanyCurrency"))
        except (ProviderValidationError, ProviderNotFound):
            # The list source for multicurrency companies is UNCONFIRMED (invoicing-extension
            # reference, §10). Without CompanyCurrency, the currencies customers already use
            # are certainly enabled (each customer has one fixed currency).
            customers = await self._query(creds, "Customer", records.select("Customer"))
            rows = records.customer_currencies(customers)
        return records.currencies_from_json(home, rows)

    async def list_tax_rates(self, creds: Credentials) -> list[TaxRate]:
        company, prefs = await self._company_and_preferences(creds)
        codes, rates = await asyncio.gather(
            self._query(creds, "TaxCode", records.select("TaxCode")),
            self._query(creds, "TaxRate", records.select("TaxRate")),
        )
        us = records.features_from_json(company, prefs).automated_sales_tax
        return records.tax_rates_from_json(codes, rates, us_sales_tax=us)

    async def list_accounts(self, creds: Credentials) -> list[Account]:
        # Filtering on AccountType server-side is UNCONFIRMED (XSD: "Filterable: QBW").
        rows = await self._query(creds, "Account", records.select("Account"))
        return records.accounts_from_json(rows)

    async def list_templates(self, creds: Credentials) -> list[Template]:
        # No known API chooses a QuickBooks Online invoice template; features.templates is off.
        return []

    # --- contacts -----------------------------------------------------------------------------

    async def search_contacts(
        self, creds: Credentials, term: str, *, page: int = 1, page_size: int = 50
    ) -> Page[Contact]:
        where = [f"DisplayName LIKE {records.quote('%' + term + '%')}"] if term else []
        statement = records.select(
            "Customer",
            where=where,
            order="DisplayName",
            start=(page - 1) * page_size + 1,
            max_results=page_size,
        )
        rows = await self._query(creds, "Customer", statement)
        items = [records.contact_from_json(r) for r in rows]
        return Page[Contact](
            items=items, page=page, page_size=page_size, has_more=len(items) >= page_size
        )

    async def get_contact(self, creds: Credentials, contact_id: str) -> Contact:
        data = await self._json(creds, "GET", f"customer/{contact_id}")
        return records.contact_from_json(entity_of(data, "Customer", contact_id))

    async def create_contact(
        self, creds: Credentials, data: ContactInput, *, idempotency_key: str
    ) -> Contact:
        if not data.name:
            raise ProviderValidationError(
                [FieldMessage("A customer needs a name.", "name")], provider=PROVIDER
            )
        result = await self._json(
            creds,
            "POST",
            "customer",
            body=records.contact_to_json(data),
            request_id=request_id_for(idempotency_key),
        )
        return records.contact_from_json(entity_of(result, "Customer", "new"))

    async def update_contact(
        self, creds: Credentials, contact_id: str, data: ContactInput
    ) -> Contact:
        async def attempt() -> Contact:
            current = await self._json(creds, "GET", f"customer/{contact_id}")
            row = entity_of(current, "Customer", contact_id)
            body = {
                "Id": contact_id,
                "SyncToken": row.get("SyncToken"),
                "sparse": True,
                **records.contact_to_json(data, row.get("Notes")),
            }
            result = await self._json(
                creds, "POST", "customer", body=body, request_id=str(uuid.uuid4())
            )
            return records.contact_from_json(entity_of(result, "Customer", contact_id))

        return await self._stale_retry(attempt)

    # --- items --------------------------------------------------------------------------------

    async def search_items(
        self, creds: Credentials, *, name: str | None = None, code: str | None = None
    ) -> list[Item]:
        # Sku is only returned when selected (quickbooks.md §4) and its filterability is
        # UNCONFIRMED, so code lookups read the list and match locally.
        where = [f"Name LIKE {records.quote('%' + name + '%')}"] if name and not code else []
        statement = records.select("Item", columns="*, Sku", where=where)
        items = [records.item_from_json(r) for r in await self._query(creds, "Item", statement)]
        items = [i for i in items if i.is_active]
        if code:
            wanted = code.strip().lower()
            return [i for i in items if (i.code or "").lower() == wanted]
        if name:
            needle = name.strip().lower()
            return [i for i in items if needle in i.name.lower()]
        return items

    async def get_item(self, creds: Credentials, item_id: str) -> Item:
        data = await self._json(creds, "GET", f"item/{item_id}")
        return records.item_from_json(entity_of(data, "Item", item_id))

    async def create_item(
        self, creds: Credentials, data: ItemInput, *, idempotency_key: str
    ) -> Item:
        errors = []
        if not data.name:
            errors.append(FieldMessage("A QuickBooks item needs a name.", "name"))
        if not data.account_code:
            errors.append(
                FieldMessage("A QuickBooks item needs an income account.", "account_code")
            )
        if errors:
            raise ProviderValidationError(errors, provider=PROVIDER)
        body = {"Type": "Service", **records.item_to_json(data)}
        result = await self._json(
            creds, "POST", "item", body=body, request_id=request_id_for(idempotency_key)
        )
        return records.item_from_json(entity_of(result, "Item", "new"))

    async def update_item(self, creds: Credentials, item_id: str, data: ItemInput) -> Item:
        async def attempt() -> Item:
            row = entity_of(await self._json(creds, "GET", f"item/{item_id}"), "Item", item_id)
            body = {
                "Id": item_id,
                "SyncToken": row.get("SyncToken"),
                "sparse": True,
                # Name is required on every Item write, sparse or not.
                "Name": row.get("Name"),
                **records.item_to_json(data),
            }
            result = await self._json(
                creds, "POST", "item", body=body, request_id=str(uuid.uuid4())
            )
            return records.item_from_json(entity_of(result, "Item", item_id))

        return await self._stale_retry(attempt)

    def contact_url(self, organisation: Organisation, contact_id: str) -> str:
        """Deep link to a customer in QuickBooks (UNCONFIRMED stability, like all QBO links)."""
        return f"{self.settings.app_url}/app/customerdetail?nameId={contact_id}"


def request_id_for(key: str) -> str:
    if not key or len(key) > REQUEST_ID_MAX:
        raise ValueError(f"idempotency_key must be 1-{REQUEST_ID_MAX} characters for QuickBooks")
    return key


def entity_of(data: dict[str, Any], entity: str, ident: str) -> dict[str, Any]:
    row = data.get(entity)
    if not isinstance(row, dict):
        raise ProviderNotFound(f"QuickBooks has no {entity.lower()} {ident}", provider=PROVIDER)
    return row
