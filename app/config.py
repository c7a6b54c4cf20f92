"""Settings from the environment (pydantic-settings).

Every provider endpoint is configuration: the defaults are the real production hosts from
../shared/reference/, and ``SANDBOX_URL`` repoints every one of them at the local stand-ins.
"""

from __future__ import annotations

import json
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = {"", "change-me", "changeme", "placeholder", "secret", "xxx", "todo"}


class AppEnv(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ConfigError(RuntimeError):
    """The configuration cannot work; the message names the setting."""


def _env_file() -> str | None:
    # The dotenv file is read only when present, so a clean checkout needs none.
    return ".env" if Path(".env").is_file() else None


class _Group(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=_env_file())


class PipedriveSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="PIPEDRIVE_", extra="ignore", env_file=_env_file())

    client_id: str = ""
    client_secret: str = ""
    # Custom UI extensions sign their JWT with this secret, or with the client secret when unset.
    jwt_secret: str = ""
    oauth_url: str = "https://oauth.pipedrive.com"
    # Used only until a user's own ``api_domain`` is known.
    api_url: str = "https://api.pipedrive.com"
    # HTTP Basic credentials our Pipedrive webhooks are registered with, and checked against.
    webhook_user: str = "crm-invoicing"
    webhook_password: str = ""
    # What the Marketplace app is configured with in Developer Hub (Pipedrive takes no scope
    # parameter): `admin` lets us register the app webhooks that report deal changes.
    scopes: str = "base deals:full products:read contacts:read activities:full admin"
    # The Create invoice custom modal's ID in Developer Hub: the panel opens it with the SDK's
    # OPEN_MODAL (``action_id``). ``invoicing pipedrive-manifest`` lists what to register.
    modal_id: str = "create-invoice"


class XeroSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="XERO_", extra="ignore", env_file=_env_file())

    client_id: str = ""
    client_secret: str = ""
    webhook_key: str = ""
    login_url: str = "https://login.xero.com"
    identity_url: str = "https://identity.xero.com"
    api_url: str = "https://api.xero.com"
    go_url: str = "https://go.xero.com"
    scopes: str = (
        "openid profile email offline_access accounting.invoices accounting.contacts "
        "accounting.settings.read"
    )


class QuickBooksSettings(_Group):
    model_config = SettingsConfigDict(
        env_prefix="QUICKBOOKS_", extra="ignore", env_file=_env_file()
    )

    client_id: str = ""
    client_secret: str = ""
    webhook_verifier_token: str = ""
    appcenter_url: str = "https://appcenter.intuit.com"
    oauth_url: str = "https://oauth.platform.intuit.com"
    developer_api_url: str = "https://developer.api.intuit.com"
    api_url: str = "https://quickbooks.api.intuit.com"
    app_url: str = "https://app.qbo.intuit.com"
    minor_version: int = 75
    scopes: str = "com.intuit.quickbooks.accounting openid profile email"


# Where each group's URLs live under the sandbox, mirroring the real hosts' paths.
SANDBOX_PATHS: dict[str, dict[str, str]] = {
    "pipedrive": {"oauth_url": "/pipedrive/oauth", "api_url": "/pipedrive/api"},
    "xero": {
        "login_url": "/xero/login",
        "identity_url": "/xero/identity",
        "api_url": "/xero/api",
        "go_url": "/xero/go",
    },
    "quickbooks": {
        "appcenter_url": "/quickbooks/appcenter",
        "oauth_url": "/quickbooks/oauth",
        "developer_api_url": "/quickbooks/developer",
        "api_url": "/quickbooks/api",
        "app_url": "/quickbooks/app",
    },
}

SECRET_NAMES = (
    "SECRET_KEY",
    "TOKEN_KEYS",
    "PIPEDRIVE_CLIENT_ID",
    "PIPEDRIVE_CLIENT_SECRET",
    "XERO_CLIENT_ID",
    "XERO_CLIENT_SECRET",
    "XERO_WEBHOOK_KEY",
    "QUICKBOOKS_CLIENT_ID",
    "QUICKBOOKS_CLIENT_SECRET",
    "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN",
    "PIPEDRIVE_WEBHOOK_PASSWORD",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=_env_file())

    app_env: AppEnv = AppEnv.development
    var_dir: Path = Path("./var")
    database_url: str = ""
    redis_url: str | None = None
    public_url: str = "http://localhost:8000"
    # Pipedrive Marketplace listing: Terms of service, Privacy policy, Support. Empty: our own
    # pages (/legal/terms, /legal/privacy, /support) are linked.
    terms_url: str = ""
    privacy_url: str = ""
    support_url: str = ""
    support_email: str = ""
    secret_key: str = ""
    token_keys: str = ""
    log_level: str = "INFO"
    # auto: JSON when stderr is not a terminal, readable lines when it is.
    log_format: str = "auto"
    # When set, every provider URL left at its default points at the sandbox stand-ins.
    sandbox_url: str | None = None
    session_ttl_seconds: int = 3600

    # Background jobs (app/worker). Without REDIS_URL they run inside each app process.
    # With it, app processes also run jobs unless WORKER_IN_APP=false (then only `invoicing
    # worker` processes do).
    worker_in_app: bool = True
    # The Redis stream jobs travel on (several deployments may share one Redis).
    job_queue: str = "invoicing:jobs"
    # Jobs one process runs at once; in an app process they share its database pool with
    # requests, so this stays well under the pool's 30 connections.
    worker_concurrency: int = 10
    worker_poll_seconds: float = 0.5
    job_lease_seconds: float = 120.0
    job_backoff_seconds: float = 2.0
    scheduler_tick_seconds: float = 5.0
    # Catch-up sync of every connection (for webhooks that never arrive); 0 turns it off.
    catch_up_minutes: float = 15.0
    # Invoice intents: how long a creation holds one without renewing it (a crashed holder's
    # intent is resolved by the reconciler once this passes), and whether the worker's
    # reconciler resolves pending and unknown intents (every INTENT_CHECK_SECONDS) with no
    # client involved.
    intent_lease_seconds: float = Field(30.0, gt=0)
    intent_check_seconds: float = Field(10.0, gt=0)
    intent_reconciler: bool = True
    # Whether the worker's periodic check runs due recurring schedules (docs/recurring.md);
    # tests that drive a schedule's runs themselves turn it off.
    recurring_billing: bool = True
    webhook_retention_days: int = 14
    # Invoice automation (docs/automation.md): how often the rules' catch-up reads recently
    # updated deals, and how often overdue follow-ups are looked for.
    automation_catch_up_seconds: float = Field(300.0, gt=0)
    automation_overdue_seconds: float = Field(600.0, gt=0)

    # Backpressure (docs/architecture.md). Requests one company may make to our API, pages and
    # Pipedrive's Invoicing extension, per minute and per second (bursts); past either the
    # answer is 429 with Retry-After. 0 turns that window off.
    api_requests_per_minute: int = Field(600, ge=0)
    api_requests_per_second: int = Field(60, ge=0)
    # A provider organisation whose calls fail (5xx, timeouts) this many times in a row within
    # the window is paused for the cool-down, then one trial call decides; 0 turns it off.
    circuit_failures: int = Field(5, ge=0)
    circuit_window_seconds: float = Field(60.0, ge=1)
    circuit_cool_down_seconds: float = Field(30.0, ge=0)

    pipedrive: PipedriveSettings = Field(default_factory=PipedriveSettings)
    xero: XeroSettings = Field(default_factory=XeroSettings)
    quickbooks: QuickBooksSettings = Field(default_factory=QuickBooksSettings)

    # Notes for the operator produced while loading (e.g. secrets created in development).
    notices: list[str] = Field(default_factory=list, exclude=True)

    @field_validator("public_url", "sandbox_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / 'invoicing.db'}"
        if self.sandbox_url:
            self._point_at_sandbox(self.sandbox_url)
        return self

    def _point_at_sandbox(self, base: str) -> None:
        for group_name, paths in SANDBOX_PATHS.items():
            group = getattr(self, group_name)
            defaults = type(group).model_fields
            for field, path in paths.items():
                if getattr(group, field) == defaults[field].default:
                    setattr(group, field, base + path)

    @property
    def legal_links(self) -> dict[str, str]:
        """The Terms, Privacy and Support links the pages show (configured, else ours)."""
        return {
            "terms": self.terms_url or "/legal/terms",
            "privacy": self.privacy_url or "/legal/privacy",
            "support": self.support_url or "/support",
        }

    @property
    def is_production(self) -> bool:
        return self.app_env == AppEnv.production

    @property
    def database_backend(self) -> str:
        scheme = self.database_url.split(":", 1)[0]
        if scheme.startswith("sqlite"):
            return "sqlite"
        if scheme.startswith("postgresql"):
            return "postgresql"
        return scheme

    @property
    def token_key_list(self) -> list[str]:
        return [k.strip() for k in self.token_keys.split(",") if k.strip()]

    def secret_value(self, name: str) -> str:
        group, _, attr = name.lower().partition("_")
        if group in ("pipedrive", "xero", "quickbooks"):
            return str(getattr(getattr(self, group), attr))
        return str(getattr(self, name.lower()))

    def set_secret(self, name: str, value: str) -> None:
        group, _, attr = name.lower().partition("_")
        if group in ("pipedrive", "xero", "quickbooks"):
            setattr(getattr(self, group), attr, value)
        else:
            setattr(self, name.lower(), value)


def _generate(name: str) -> str:
    if name == "TOKEN_KEYS":
        return Fernet.generate_key().decode()
    if name.endswith("CLIENT_ID"):
        return "dev-" + name.split("_")[0].lower() + "-" + secrets.token_hex(4)
    return secrets.token_urlsafe(32)


def validate_database_url(url: str) -> None:
    scheme = url.split(":", 1)[0]
    if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigError(
            f"DATABASE_URL scheme '{scheme}' is not supported: use sqlite+aiosqlite:///path "
            "or postgresql+asyncpg://user@host:port/db"
        )


def validate_token_keys(keys: list[str]) -> None:
    for index, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"TOKEN_KEYS entry {index} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from exc


def validate_production_url(public_url: str) -> None:
    """Pipedrive frames, redirects to and calls only https URLs (and our cookies are Secure
    only over https), so production refuses any other PUBLIC_URL."""
    if not public_url.lower().startswith("https://"):
        raise ConfigError(
            f"PUBLIC_URL must be an https:// URL in production (Pipedrive frames and calls only "
            f"https URLs); it is {public_url!r}"
        )


def complete_secrets(settings: Settings) -> Settings:
    """Check or fill in the secrets, depending on the environment.

    production: refuse to start on a missing or placeholder secret, naming it.
    development: create missing secrets once under ``var/secrets.json`` so restarts keep them.
    test: fill missing secrets in memory only.
    """
    validate_database_url(settings.database_url)
    if settings.is_production:
        required = ["SECRET_KEY", "TOKEN_KEYS", "PIPEDRIVE_CLIENT_ID", "PIPEDRIVE_CLIENT_SECRET"]
        # A provider is switched on by giving its client id; then all its secrets are needed.
        if settings.xero.client_id:
            required += ["XERO_CLIENT_SECRET", "XERO_WEBHOOK_KEY"]
        if settings.quickbooks.client_id:
            required += ["QUICKBOOKS_CLIENT_SECRET", "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN"]
        for name in required:
            if settings.secret_value(name).strip().lower() in PLACEHOLDERS:
                raise ConfigError(
                    f"{name} is missing or a placeholder; set it to start in production"
                )
        if len(settings.secret_key) < 32:
            raise ConfigError("SECRET_KEY is too short: use at least 32 random characters")
        validate_production_url(settings.public_url)
    else:
        stored: dict[str, str] = {}
        path = settings.var_dir / "secrets.json"
        persist = settings.app_env == AppEnv.development
        if persist and path.is_file():
            stored = json.loads(path.read_text())
        created = []
        for name in SECRET_NAMES:
            if settings.secret_value(name):
                continue
            if name not in stored:
                stored[name] = _generate(name)
                created.append(name)
            settings.set_secret(name, stored[name])
        if persist and created:
            settings.var_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(stored, indent=2))
            os.chmod(tmp, 0o600)
            tmp.replace(path)
            settings.notices.append(
                f"created development secrets {', '.join(created)} in {path} (kept across restarts)"
            )
    validate_token_keys(settings.token_key_list)
    if not settings.token_key_list:
        raise ConfigError("TOKEN_KEYS is empty: give at least one Fernet key")
    return settings


def load_settings(**overrides: Any) -> Settings:
    """Read the environment, apply overrides, and complete the secrets."""
    return complete_secrets(Settings(**overrides))


@lru_cache
def get_settings() -> Settings:
    return load_settings()
