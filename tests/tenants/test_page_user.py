"""PageUser lives in tenants; the app factory installs Pipedrive's JWT sign-in for it."""

from __future__ import annotations

from typing import Any

from app.crm.pipedrive.iframe import sign_in_with_jwt


def test_the_app_verifies_iframe_tokens_with_pipedrives_jwt(app: Any) -> None:
    assert app.state.page_sign_in is sign_in_with_jwt
