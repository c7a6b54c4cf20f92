"""Both adapters implement the documented Protocol, and build_providers wires them."""

from __future__ import annotations

import inspect

import httpx2

from app.config import load_settings
from app.providers import build_providers
from app.providers.base import AccountingProvider, ProviderName
from app.providers.quickbooks import QuickBooksProvider
from app.providers.xero import XeroProvider

PROTOCOL_METHODS = [
    name
    for name, member in vars(AccountingProvider).items()
    if callable(member) and not name.startswith("_")
]


def test_every_protocol_method_is_documented() -> None:
    assert len(PROTOCOL_METHODS) >= 25
    for name in PROTOCOL_METHODS:
        assert inspect.getdoc(getattr(AccountingProvider, name)), name


async def test_build_providers_gives_both_adapters() -> None:
    settings = load_settings(app_env="test", sandbox_url="http://127.0.0.1:9")
    async with httpx2.AsyncClient() as http:
        providers = build_providers(settings, http)
    assert isinstance(providers[ProviderName.xero], XeroProvider)
    assert isinstance(providers[ProviderName.quickbooks], QuickBooksProvider)
    for provider in providers.values():
        assert isinstance(provider, AccountingProvider)
        for name in PROTOCOL_METHODS:
            ours = getattr(type(provider), name)
            theirs = getattr(AccountingProvider, name)
            assert list(inspect.signature(ours).parameters) == list(
                inspect.signature(theirs).parameters
            ), name
    # Every URL points at the sandbox when SANDBOX_URL is set: no code change needed.
    xero = providers[ProviderName.xero]
    assert isinstance(xero, XeroProvider)
    assert xero.base_url == "http://127.0.0.1:9/xero/api/api.xro/2.0"
    assert xero.oauth.token_endpoint == "http://127.0.0.1:9/xero/identity/connect/token"
