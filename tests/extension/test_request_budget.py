"""Pipedrive's calls to the Invoicing extension count against the link's company's budget:
past it, the envelope's 429 with Retry-After; another company's link is not held back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connections.conftest import XERO_AU
from tests.extension.conftest import link_of


async def test_past_the_budget_the_extension_answers_429_in_its_envelope(
    pd: Any,
    links: dict[str, str],
    contoso: Any,
    flow: Any,
    sessionmaker: Any,
    app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (await flow.xero(contoso.user, tenant_ids=(XERO_AU,))).status_code in (200, 303)
    other = await link_of(sessionmaker, contoso, "xero")
    monkeypatch.setattr(app.state.settings, "api_requests_per_minute", 2)
    for _ in range(2):
        assert (await pd("getCurrencies", links["xero"])).status_code == 200
    # The same company through its other link shares the budget.
    refused = await pd("getCurrencies", links["quickbooks"])
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    body = refused.json()
    assert body["success"] is False and body["data"] is None
    assert body["error"].startswith("Your company has made 2 requests to CRM Invoicing")
    # Contoso's link draws on Contoso's budget.
    assert (await pd("getCurrencies", other)).status_code == 200
    # Bad credentials are refused before any company is known: 401, not 429.
    assert (await pd("getCurrencies", links["xero"], headers={})).status_code == 401
