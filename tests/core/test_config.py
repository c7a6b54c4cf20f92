"""Settings: production refuses bad secrets, development keeps its own, bad values are named."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from app.config import ConfigError, load_settings

GOOD_PRODUCTION = {
    "app_env": "production",
    "secret_key": "s" * 40,
    "token_keys": Fernet.generate_key().decode(),
    "database_url": "sqlite+aiosqlite:///./var/x.db",
    "public_url": "https://invoicing.example.com",
}


def _prod(monkeypatch, **env):
    monkeypatch.setenv("PIPEDRIVE_CLIENT_ID", env.pop("PIPEDRIVE_CLIENT_ID", "real-client"))
    monkeypatch.setenv(
        "PIPEDRIVE_CLIENT_SECRET", env.pop("PIPEDRIVE_CLIENT_SECRET", "real-secret-value")
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_production_starts_with_every_secret(monkeypatch):
    _prod(monkeypatch)
    settings = load_settings(**GOOD_PRODUCTION)
    assert settings.is_production


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"secret_key": ""}, "SECRET_KEY"),
        ({"secret_key": "change-me"}, "SECRET_KEY"),
        ({"token_keys": ""}, "TOKEN_KEYS"),
    ],
)
def test_production_refuses_missing_or_placeholder_secret(monkeypatch, override, named):
    _prod(monkeypatch)
    with pytest.raises(ConfigError, match=named):
        load_settings(**{**GOOD_PRODUCTION, **override})


def test_production_names_a_missing_provider_secret(monkeypatch):
    _prod(monkeypatch, XERO_CLIENT_ID="xero-id")
    with pytest.raises(ConfigError, match="XERO_CLIENT_SECRET"):
        load_settings(**GOOD_PRODUCTION)


def test_production_names_placeholder_pipedrive_secret(monkeypatch):
    _prod(monkeypatch, PIPEDRIVE_CLIENT_SECRET="placeholder")
    with pytest.raises(ConfigError, match="PIPEDRIVE_CLIENT_SECRET"):
        load_settings(**GOOD_PRODUCTION)


@pytest.mark.parametrize("url", ["http://invoicing.example.com", "http://localhost:8000"])
def test_production_refuses_a_public_url_that_is_not_https(monkeypatch, url):
    _prod(monkeypatch)
    with pytest.raises(ConfigError, match="PUBLIC_URL must be an https"):
        load_settings(**{**GOOD_PRODUCTION, "public_url": url})


def test_development_accepts_a_plain_http_public_url(tmp_path):
    settings = load_settings(app_env="test", public_url="http://localhost:8000")
    assert settings.public_url.startswith("http://")


def test_development_creates_secrets_once_and_keeps_them(tmp_path, monkeypatch):
    for name in ("SECRET_KEY", "TOKEN_KEYS", "XERO_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    first = load_settings(app_env="development", var_dir=tmp_path)
    assert any("created development secrets" in n for n in first.notices)
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored["SECRET_KEY"] == first.secret_key
    second = load_settings(app_env="development", var_dir=tmp_path)
    assert second.secret_key == first.secret_key
    assert second.token_keys == first.token_keys
    assert second.xero.client_id == first.xero.client_id
    assert second.notices == []


def test_unknown_database_scheme_is_named():
    with pytest.raises(ConfigError, match="mysql"):
        load_settings(app_env="test", database_url="mysql://root@localhost/db")


def test_corrupt_token_keys_are_named():
    with pytest.raises(ConfigError, match="TOKEN_KEYS entry 2"):
        load_settings(app_env="test", token_keys=f"{Fernet.generate_key().decode()},not-a-key")


def test_sandbox_url_repoints_every_default_provider_url():
    settings = load_settings(app_env="test", sandbox_url="http://127.0.0.1:8100/")
    assert settings.xero.login_url == "http://127.0.0.1:8100/xero/login"
    assert settings.xero.api_url == "http://127.0.0.1:8100/xero/api"
    assert settings.quickbooks.oauth_url == "http://127.0.0.1:8100/quickbooks/oauth"
    assert settings.pipedrive.oauth_url == "http://127.0.0.1:8100/pipedrive/oauth"


def test_explicit_provider_url_wins_over_sandbox(monkeypatch):
    monkeypatch.setenv("XERO_API_URL", "https://xero.example")
    settings = load_settings(app_env="test", sandbox_url="http://127.0.0.1:8100")
    assert settings.xero.api_url == "https://xero.example"


def test_real_production_urls_are_the_defaults():
    settings = load_settings(app_env="test")
    assert settings.xero.identity_url == "https://identity.xero.com"
    assert settings.quickbooks.api_url == "https://quickbooks.api.intuit.com"
    assert settings.pipedrive.oauth_url == "https://oauth.pipedrive.com"
