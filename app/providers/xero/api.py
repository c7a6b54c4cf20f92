"""The Xero adapter's plumbing and reads of everything but invoices: requests with the
tenant header and ``Idempotency-Key``, organisation, lookups, users, contacts and items.

Every URL comes from ``XeroSettings`` (``api_url``, ``go_url``); credentials come per call.
Writes carry an ``Idempotency-Key`` (the caller's for creates, a fresh one for other writes) so
that the transport may safely retry them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx2

from app.config import XeroSettings
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
    ProviderNotFound,
    ProviderUnavailable,
    ProviderValidationError,
)
from app.providers.jsonutil import loads
from app.providers.xero import errors as xero_errors
from app.providers.xero import mapping
from app.providers.xero.errors import parse_error
from app.providers.xero.oauth import XeroOAuth
from app.providers.xero.spec import (
    API_PATH,
    FEATURES,
    IDEMPOTENCY_KEY_MAX,
    PROVIDER,
    RATE_LIMITS,
)


@dataclass(frozen=True)
class XeroUser:
    """A user of the organisation, for the connect-time role check (xero.md §3)."""

    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    role: str
    is_subscriber: bool


class XeroApi(HttpAdapter):
    """Everything of the Xero adapter but invoices (see ``client.XeroProvider``)."""

    provider = PROVIDER
    rate_limits = RATE_LIMITS
    error_parser = staticmethod(parse_error)
    oauth_class = XeroOAuth
    settings: XeroSettings

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.settings.api_url}{API_PATH}"

    async def _call(
        self,
        creds: Credentials,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        accept: str = "application/json",
        extra_headers: dict[str, str] | None = None,
    ) -> httpx2.Response:
        headers = {"xero-tenant-id": creds.tenant_id, "Accept": accept, **(extra_headers or {})}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return await self._send(
            creds,
            method,
            self.base_url + path,
            safe=method == "GET" or idempotency_key is not None,
            headers=headers,
            params=params,
            body=body,
        )

    async def _json(self, creds: Credentials, method: str, path: str, **kw: Any) -> Any:
        response = await self._call(creds, method, path, **kw)
        return loads(response.content) if response.content else {}

    async def _write_one(
        self,
        creds: Credentials,
        method: str,
        path: str,
        collection: str,
        element: dict[str, Any],
        *,
        idempotency_key: str,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """PUT/POST one element with summarizeErrors=false and return it, or raise its errors."""
        query = {"summarizeErrors": "false", **(params or {})}
        data = await self._json(
            creds,
            method,
            path,
            params=query,
            body={collection: [element]},
            idempotency_key=idempotency_key,
        )
        elements = data.get(collection) or []
        if not elements:
            raise ProviderUnavailable(
                f"Xero returned no {collection} element", provider=PROVIDER, outcome_unknown=True
            )
        result: dict[str, Any] = elements[0]
        if xero_errors.has_errors(result):
            raise ProviderValidationError(xero_errors.element_errors(result), provider=PROVIDER)
        return result

    # --- organisation and lookups -------------------------------------------------------------

    async def get_organisation(self, creds: Credentials) -> Organisation:
        data = await self._json(creds, "GET", "/Organisation")
        orgs = data.get("Organisations") or []
        if not orgs:
            raise ProviderNotFound("Xero returned no organisation", provider=PROVIDER)
        return mapping.organisation_from_json(orgs[0])

    async def get_features(self, creds: Credentials) -> Features:
        # Xero's capabilities do not vary by organisation for what LinkFeatures asks.
        return FEATURES

    async def list_currencies(self, creds: Credentials) -> list[Currency]:
        org = await self.get_organisation(creds)
        data = await self._json(creds, "GET", "/Currencies")
        currencies = mapping.currencies_from_json(data.get("Currencies") or [], org.base_currency)
        if not any(c.is_base for c in currencies) and org.base_currency:
            currencies.insert(
                0, Currency(code=org.base_currency, name=org.base_currency, is_base=True)
            )
        return currencies

    async def list_tax_rates(self, creds: Credentials) -> list[TaxRate]:
        data = await self._json(creds, "GET", "/TaxRates")
        return mapping.tax_rates_from_json(data.get("TaxRates") or [])

    async def list_accounts(self, creds: Credentials) -> list[Account]:
        data = await self._json(creds, "GET", "/Accounts")
        return mapping.accounts_from_json(data.get("Accounts") or [])

    async def list_templates(self, creds: Credentials) -> list[Template]:
        data = await self._json(creds, "GET", "/BrandingThemes")
        return mapping.templates_from_json(data.get("BrandingThemes") or [])

    async def list_users(self, creds: Credentials) -> list[XeroUser]:
        """Users and their OrganisationRole (connect-time role check, issue 4 item 2)."""
        data = await self._json(creds, "GET", "/Users")
        return [
            XeroUser(
                id=str(u["UserID"]),
                email=u.get("EmailAddress"),
                first_name=u.get("FirstName"),
                last_name=u.get("LastName"),
                role=str(u.get("OrganisationRole") or "UNKNOWN").upper(),
                is_subscriber=bool(u.get("IsSubscriber")),
            )
            for u in data.get("Users") or []
        ]

    # --- contacts -----------------------------------------------------------------------------

    async def search_contacts(
        self, creds: Credentials, term: str, *, page: int = 1, page_size: int = 50
    ) -> Page[Contact]:
        params: dict[str, Any] = {"page": page, "pageSize": page_size}
        if term:
            params["searchTerm"] = term
        data = await self._json(creds, "GET", "/Contacts", params=params)
        items = [mapping.contact_from_json(c) for c in data.get("Contacts") or []]
        return Page[Contact](items=items, **page_info(data, page, page_size, len(items)))

    async def get_contact(self, creds: Credentials, contact_id: str) -> Contact:
        data = await self._json(creds, "GET", f"/Contacts/{contact_id}")
        return mapping.contact_from_json(first_element(data, "Contacts", "contact", contact_id))

    async def create_contact(
        self, creds: Credentials, data: ContactInput, *, idempotency_key: str
    ) -> Contact:
        if not data.name:
            raise ProviderValidationError(
                [FieldMessage("A contact needs a name.", "name")], provider=PROVIDER
            )
        element = await self._write_one(
            creds,
            "PUT",
            "/Contacts",
            "Contacts",
            mapping.contact_to_json(data),
            idempotency_key=checked_key(idempotency_key),
        )
        return mapping.contact_from_json(element)

    async def update_contact(
        self, creds: Credentials, contact_id: str, data: ContactInput
    ) -> Contact:
        element = await self._write_one(
            creds,
            "POST",
            f"/Contacts/{contact_id}",
            "Contacts",
            mapping.contact_to_json(data, contact_id),
            idempotency_key=str(uuid.uuid4()),
        )
        return mapping.contact_from_json(element)

    # --- items --------------------------------------------------------------------------------

    async def search_items(
        self, creds: Credentials, *, name: str | None = None, code: str | None = None
    ) -> list[Item]:
        # GET /Items has no paging and no search term; an organisation's item list is small,
        # so one call and a local filter beats relying on ``where`` string matching.
        data = await self._json(creds, "GET", "/Items", params={"unitdp": 4})
        items = [mapping.item_from_json(i) for i in data.get("Items") or []]
        if code:
            wanted = code.strip().lower()
            return [i for i in items if (i.code or "").lower() == wanted]
        if name:
            needle = name.strip().lower()
            return [i for i in items if needle in i.name.lower()]
        return items

    async def get_item(self, creds: Credentials, item_id: str) -> Item:
        data = await self._json(creds, "GET", f"/Items/{item_id}", params={"unitdp": 4})
        return mapping.item_from_json(first_element(data, "Items", "item", item_id))

    async def create_item(
        self, creds: Credentials, data: ItemInput, *, idempotency_key: str
    ) -> Item:
        if not data.code:
            raise ProviderValidationError(
                [FieldMessage("A Xero item needs a code.", "code")], provider=PROVIDER
            )
        element = await self._write_one(
            creds,
            "PUT",
            "/Items",
            "Items",
            mapping.item_to_json(data),
            idempotency_key=checked_key(idempotency_key),
            params={"unitdp": 4},
        )
        return mapping.item_from_json(element)

    async def update_item(self, creds: Credentials, item_id: str, data: ItemInput) -> Item:
        body = mapping.item_to_json(data, item_id)
        if "Code" not in body:
            # Xero identifies items by Code on POST; keep the current one.
            body["Code"] = (await self.get_item(creds, item_id)).code
        element = await self._write_one(
            creds,
            "POST",
            f"/Items/{item_id}",
            "Items",
            body,
            idempotency_key=str(uuid.uuid4()),
            params={"unitdp": 4},
        )
        return mapping.item_from_json(element)

    def contact_url(self, organisation: Organisation, contact_id: str) -> str:
        """Deep link to a contact in Xero."""
        return (
            f"{self.settings.go_url}/organisationlogin/default.aspx?shortcode="
            f"{organisation.short_code or ''}&redirecturl=/Contacts/View/{contact_id}"
        )


def checked_key(idempotency_key: str) -> str:
    if not idempotency_key or len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        raise ValueError(f"idempotency_key must be 1-{IDEMPOTENCY_KEY_MAX} characters")
    return idempotency_key


def xero_date(value: date) -> str:
    return f"DateTime({value.year},{value.month:02d},{value.day:02d})"


def first_element(data: dict[str, Any], collection: str, what: str, ident: str) -> dict[str, Any]:
    items = data.get(collection) or []
    if not items:
        raise ProviderNotFound(f"Xero has no {what} {ident}", provider=PROVIDER)
    first: dict[str, Any] = items[0]
    return first


def page_info(data: dict[str, Any], page: int, page_size: int, count: int) -> dict[str, Any]:
    pagination = data.get("pagination") or {}
    page_count = pagination.get("pageCount")
    if page_count is not None:
        return {
            "page": page,
            "page_size": page_size,
            "has_more": page < int(page_count),
            "total": pagination.get("itemCount"),
        }
    return {"page": page, "page_size": page_size, "has_more": count >= page_size, "total": None}
