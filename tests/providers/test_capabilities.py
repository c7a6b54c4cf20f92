"""The capabilities the invoice rules read from an adapter instead of asking its name."""

from __future__ import annotations

import httpx2

from app.config import load_settings
from app.providers import build_providers
from app.providers.base import ProviderName


async def test_only_xero_approves_and_only_for_roles_that_may():
    settings = load_settings(app_env="test", sandbox_url="http://127.0.0.1:9")
    async with httpx2.AsyncClient() as http:
        providers = build_providers(settings, http)
    xero, qbo = providers[ProviderName.xero], providers[ProviderName.quickbooks]
    assert xero.can_approve("STANDARD") and xero.can_approve("financialadviser")
    assert not xero.can_approve("READONLY") and not xero.can_approve(None)
    assert not qbo.can_approve("STANDARD") and not qbo.can_approve(None)
