"""PageUser lives in tenants; the app factory installs Pipedrive's JWT sign-in for it, wrapped
so that a stale Pipedrive role is read again at sign-in (app/crm/pipedrive/roles.py)."""

from __future__ import annotations

from typing import Any

from app.crm.pipedrive import roles


def test_the_app_verifies_iframe_tokens_with_pipedrives_jwt(app: Any) -> None:
    installed = app.state.page_sign_in
    assert installed.__module__ == roles.__name__
    assert installed.__qualname__ == "role_refreshing_sign_in.<locals>.sign_in"
    # The wrapper calls the JWT sign-in itself (not some other sign-in).
    assert "sign_in_with_jwt" in installed.__code__.co_names
