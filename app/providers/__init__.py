"""Accounting providers: one ``AccountingProvider`` interface, Xero and QuickBooks behind it.

Build the adapters once per process with ``build_providers`` (they hold the per-tenant rate
limiters) and share them; see ``app/providers/base.py`` for the interface and DTOs.
"""

from __future__ import annotations

import httpx2

from app.config import Settings
from app.kit.circuit import CircuitPolicy
from app.kit.http import RetryPolicy
from app.providers.base import AccountingProvider, ProviderName
from app.providers.quickbooks.client import QuickBooksProvider
from app.providers.xero.client import XeroProvider

ADAPTERS: dict[ProviderName, type[XeroProvider] | type[QuickBooksProvider]] = {
    ProviderName.xero: XeroProvider,
    ProviderName.quickbooks: QuickBooksProvider,
}


def display_name(provider: str) -> str:
    """The provider's name as users read it (its adapter's ``display_name``)."""
    adapter = ADAPTERS.get(ProviderName(provider)) if provider in set(ProviderName) else None
    return adapter.display_name if adapter else provider


def build_providers(
    settings: Settings, http: httpx2.AsyncClient, *, retry: RetryPolicy | None = None
) -> dict[ProviderName, AccountingProvider]:
    """Both adapters over the app's shared HTTP client (``app.state.http``), their circuits
    as the settings say (``CIRCUIT_*``)."""
    circuit = circuit_policy(settings)
    return {
        ProviderName.xero: XeroProvider(settings.xero, http, retry=retry, circuit=circuit),
        ProviderName.quickbooks: QuickBooksProvider(
            settings.quickbooks, http, retry=retry, circuit=circuit
        ),
    }


def circuit_policy(settings: Settings) -> CircuitPolicy:
    """When a provider organisation's circuit opens, and for how long."""
    return CircuitPolicy(
        failures=settings.circuit_failures,
        window=settings.circuit_window_seconds,
        cool_down=settings.circuit_cool_down_seconds,
    )


__all__ = [
    "AccountingProvider",
    "ProviderName",
    "QuickBooksProvider",
    "XeroProvider",
    "build_providers",
    "display_name",
]
