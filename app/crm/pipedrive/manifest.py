"""What to register in Pipedrive's Developer Hub for our pages to show inside Pipedrive: the
custom UI extensions (pipedrive.md §3.1), their iframe URLs, sizes and the JWT secret.

``invoicing pipedrive-manifest`` prints it for an admin to paste (``--json`` for tooling).
Every page named here loads Pipedrive's App Extensions SDK and initialises it at load
(app/static/pipedrive.js): Pipedrive hides an iframe whose SDK is silent for 10 s.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from app.config import Settings

PANEL_PATH = "/pipedrive/panel"
MODAL_PATH = "/pipedrive/modal/create-invoice"
SETTINGS_PATH = "/preferences"
# The width the Create invoice modal asks for (its three sections need it); Pipedrive's
# minimum is 320 x 120 and its maximum the browser window.
MODAL_WIDTH = 960
MODAL_HEIGHT = 760


@dataclass(frozen=True)
class Extension:
    kind: str
    name: str
    location: str
    iframe_url: str
    size: str
    note: str
    extension_id: str | None = None


def extensions(settings: Settings) -> list[Extension]:
    """The three custom UI extensions CRM Invoicing needs, in Developer Hub's terms."""
    base = settings.public_url.rstrip("/")
    return [
        Extension(
            kind="custom_panel",
            name="Invoices",
            location="Deal details (sidebar panel)",
            iframe_url=base + PANEL_PATH,
            size="fixed width; height 100-750 px, set by the panel itself (RESIZE)",
            note="the deal's invoices, their actions, and the Create invoice button",
        ),
        Extension(
            kind="custom_modal",
            name="Create invoice",
            location="none: opened by the panel with the SDK's OPEN_MODAL",
            iframe_url=base + MODAL_PATH,
            size=f"{MODAL_WIDTH} x {MODAL_HEIGHT} px asked at load (min 320 x 120)",
            note=(
                "its Developer Hub ID must equal PIPEDRIVE_MODAL_ID; the panel passes "
                "data {dealId, provider, companyId}"
            ),
            extension_id=settings.pipedrive.modal_id,
        ),
        Extension(
            kind="custom_ui_app_settings",
            name="Invoicing preferences",
            location="Tools and apps > Marketplace apps > CRM Invoicing > Settings",
            iframe_url=base + SETTINGS_PATH,
            size="the settings area's",
            note="field mappings, due-date terms and accounting connections (admins edit)",
        ),
    ]


def jwt_secret_line(settings: Settings, show_secret: bool) -> str:
    """Where the iframes' JWT secret comes from; the value itself only when asked for."""
    own = settings.pipedrive.jwt_secret
    value = own or settings.pipedrive.client_secret
    source = "PIPEDRIVE_JWT_SECRET" if own else "the client secret (PIPEDRIVE_JWT_SECRET unset)"
    if not value:
        return "JWT secret: NOT SET: set PIPEDRIVE_JWT_SECRET (or PIPEDRIVE_CLIENT_SECRET)"
    shown = value if show_secret else f"…{value[-4:]} (run with --show-secret to print it)"
    return f"JWT secret: {shown}, from {source}; enter the same value on each extension"


def manifest_json(settings: Settings, show_secret: bool = False) -> str:
    """The manifest as JSON: the extensions and the JWT secret (masked unless asked)."""
    secret = settings.pipedrive.jwt_secret or settings.pipedrive.client_secret
    return json.dumps(
        {
            "app": "CRM Invoicing",
            "callback_url": settings.public_url.rstrip("/") + "/pipedrive/callback",
            "jwt_secret": secret if show_secret else (f"…{secret[-4:]}" if secret else None),
            "extensions": [asdict(e) for e in extensions(settings)],
        },
        indent=2,
    )


def manifest_text(settings: Settings, show_secret: bool = False) -> str:
    """The manifest as the lines an admin reads while filling in Developer Hub."""
    lines = [
        "CRM Invoicing: custom UI extensions to register in Pipedrive's Developer Hub",
        f"OAuth callback URL: {settings.public_url.rstrip('/')}/pipedrive/callback",
        jwt_secret_line(settings, show_secret),
        "",
    ]
    for number, ext in enumerate(extensions(settings), start=1):
        lines.append(f"{number}. {ext.name} ({ext.kind})")
        if ext.extension_id:
            lines.append(f"   ID:         {ext.extension_id}")
        lines.append(f"   Location:   {ext.location}")
        lines.append(f"   Iframe URL: {ext.iframe_url}")
        lines.append(f"   Size:       {ext.size}")
        lines.append(f"   What:       {ext.note}")
        lines.append("")
    lines.append(
        "Every extension loads the App Extensions SDK and initialises it at load; Pipedrive "
        "hides an iframe whose SDK has not initialised within 10 s."
    )
    return "\n".join(lines)
