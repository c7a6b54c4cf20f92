"""Pipedrive as the caller: Basic client auth and the URLs of our own manifest."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from app.extension.models import InvoicingLink
from tests.connections.conftest import Flow, flow  # noqa: F401
from tests.invoices.conftest import Company, _fresh_caches, contoso, installed, northwind  # noqa: F401


def basic(settings: Any, secret: str | None = None) -> dict[str, str]:
    pair = f"{settings.pipedrive.client_id}:{secret or settings.pipedrive.client_secret}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


@dataclass
class Caller:
    """Calls an endpoint by its manifest name, placeholders substituted, as Pipedrive would."""

    client: Any
    settings: Any
    endpoints: dict[str, str]

    def url(self, name: str, link_id: str, **ids: str) -> str:
        url = self.endpoints[name].replace(":linkId", link_id)
        for key, value in ids.items():
            url = url.replace(f":{key}", value)
        assert ":" not in url.split("//", 1)[1].split("/", 1)[1], url
        # Our own absolute URL: replay its path over ASGI.
        return url[len(self.settings.public_url.rstrip("/")) :]

    async def __call__(
        self,
        name: str,
        link_id: str,
        *,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        ids = {k: kw.pop(k) for k in ("invoiceId", "contactId", "productId") if k in kw}
        verb = (
            method
            or {"get": "GET", "post": "POST", "put": "PUT"}[
                next(p for p in ("get", "post", "put") if name.startswith(p))
            ]
        )
        return await self.client.request(
            verb,
            self.url(name, link_id, **ids),
            headers=headers if headers is not None else basic(self.settings),
            **kw,
        )


@pytest.fixture
async def pd(client: Any, settings: Any) -> Caller:
    manifest = (await client.get("/pipedrive/invoicing/manifest.json")).json()
    return Caller(client, settings, manifest["endpoints"])


async def link_of(sessionmaker: Any, company: Company, provider: str) -> str:
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(InvoicingLink).where(
                    InvoicingLink.company_id == company.user.company_id,
                    InvoicingLink.provider == provider,
                )
            )
        ).scalar_one()
    return row.link_id


@pytest.fixture
async def links(northwind: Company, sessionmaker: Any) -> dict[str, str]:  # noqa: F811
    return {p: await link_of(sessionmaker, northwind, p) for p in ("xero", "quickbooks")}


@pytest.fixture(autouse=True)
def _fresh_rate_budgets(app: Any) -> None:
    # The sandbox is reset for every test, so its minute windows start afresh; the app's
    # per-tenant limiters (held by the adapters) must too, or one test waits out another's calls.
    app.state.providers = None
