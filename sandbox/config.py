"""The stand-ins' settings: where they live, whom they trust, where they send webhooks.

Client credentials and webhook secrets come from the app's own settings so that the demo and
the tests need no extra setup: the sandbox registers exactly the app that will call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.config import Settings
from sandbox.oauth import Client


@dataclass
class SandboxSettings:
    public_url: str = "http://127.0.0.1:8100"
    db_path: str = "var/sandbox.db"
    # Where the product runs: OAuth redirects, webhook targets and iframes point there.
    app_url: str = "http://localhost:8000"
    pipedrive_client: Client = field(default_factory=lambda: Client("pd-client", "pd-secret", ()))
    xero_client: Client = field(default_factory=lambda: Client("xero-client", "xero-secret", ()))
    quickbooks_client: Client = field(
        default_factory=lambda: Client("qbo-client", "qbo-secret", ())
    )
    pipedrive_jwt_secret: str = "pd-secret"
    # Custom UI extensions the sandbox Pipedrive hosts (reference pipedrive.md §3.1): their iframe
    # URLs as paths under app_url, and custom modals by the action_id given to OPEN_MODAL.
    pipedrive_panel_path: str = "/pipedrive/panel"
    pipedrive_settings_path: str = "/preferences"
    pipedrive_modals: dict[str, str] = field(
        default_factory=lambda: {"create-invoice": "/pipedrive/modal/create-invoice"}
    )
    # Pipedrive hides a custom UI whose SDK has not initialised within 10 s, and so does the
    # sandbox (our pages initialise it); a page may turn it off with ?require_sdk=0, and set
    # the wait with ?sdk_timeout_ms=.
    pipedrive_require_sdk: bool = True
    pipedrive_sdk_timeout: float = 10.0
    xero_webhook_key: str = "xero-webhook-key"
    quickbooks_verifier_token: str = "qbo-verifier"
    pipedrive_webhook_user: str = ""
    pipedrive_webhook_password: str = ""
    xero_webhook_url: str = ""
    quickbooks_webhook_url: str = ""
    pipedrive_webhook_url: str = ""
    # Seconds between webhook retries; the real schedules are hours long, tests need seconds.
    webhook_retry_delays: tuple[float, ...] = (1.0, 3.0, 10.0)

    @classmethod
    def from_app(
        cls,
        settings: Settings,
        *,
        public_url: str | None = None,
        db_path: str | Path | None = None,
        webhook_retry_delays: tuple[float, ...] | None = None,
    ) -> SandboxSettings:
        app_url = settings.public_url
        out = cls(
            public_url=(public_url or settings.sandbox_url or "http://127.0.0.1:8100").rstrip("/"),
            db_path=str(db_path or settings.var_dir / "sandbox.db"),
            app_url=app_url,
            pipedrive_client=Client(
                settings.pipedrive.client_id,
                settings.pipedrive.client_secret,
                (f"{app_url}/pipedrive/callback",),
            ),
            xero_client=Client(
                settings.xero.client_id,
                settings.xero.client_secret,
                (f"{app_url}/connections/xero/callback",),
            ),
            quickbooks_client=Client(
                settings.quickbooks.client_id,
                settings.quickbooks.client_secret,
                (f"{app_url}/connections/quickbooks/callback",),
            ),
            pipedrive_jwt_secret=settings.pipedrive.jwt_secret or settings.pipedrive.client_secret,
            xero_webhook_key=settings.xero.webhook_key,
            quickbooks_verifier_token=settings.quickbooks.webhook_verifier_token,
            pipedrive_webhook_user=settings.pipedrive.webhook_user,
            pipedrive_webhook_password=settings.pipedrive.webhook_password,
            xero_webhook_url=f"{app_url}/webhooks/xero",
            quickbooks_webhook_url=f"{app_url}/webhooks/quickbooks",
            pipedrive_webhook_url=f"{app_url}/webhooks/pipedrive",
        )
        if webhook_retry_delays is not None:
            out.webhook_retry_delays = webhook_retry_delays
        return out
