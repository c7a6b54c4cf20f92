"""`invoicing pipedrive-manifest`: what an admin registers in Developer Hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "APP_ENV": "test",
        "PUBLIC_URL": "https://invoicing.example.com",
        "PIPEDRIVE_JWT_SECRET": "jwt-secret-for-the-iframes-7f3a",
        "PIPEDRIVE_MODAL_ID": "9b1c-modal",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "pipedrive-manifest", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def test_manifest_lists_the_three_extensions_with_urls_and_a_masked_secret() -> None:
    result = _run()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Invoices (custom_panel)" in out
    assert "Iframe URL: https://invoicing.example.com/pipedrive/panel" in out
    assert "height 100-750 px" in out
    assert "Create invoice (custom_modal)" in out
    assert "ID:         9b1c-modal" in out
    assert "Iframe URL: https://invoicing.example.com/pipedrive/modal/create-invoice" in out
    assert "Iframe URL: https://invoicing.example.com/preferences" in out
    # The secret is named and masked unless asked for.
    assert "…7f3a" in out and "from PIPEDRIVE_JWT_SECRET" in out
    assert "jwt-secret-for-the-iframes" not in out


def test_manifest_as_json_with_the_secret_when_asked() -> None:
    result = _run("--json", "--show-secret")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["jwt_secret"] == "jwt-secret-for-the-iframes-7f3a"
    assert body["callback_url"] == "https://invoicing.example.com/pipedrive/callback"
    kinds = {e["kind"]: e for e in body["extensions"]}
    assert set(kinds) == {"custom_panel", "custom_modal", "custom_ui_app_settings"}
    assert kinds["custom_modal"]["extension_id"] == "9b1c-modal"
    assert kinds["custom_panel"]["iframe_url"].endswith("/pipedrive/panel")
