"""Errors of the connections domain, each with its HTTP status (see app/errors.py)."""

from __future__ import annotations

from app.config import Settings
from app.errors import Conflict
from app.providers import display_name


def reconnect_url(settings: Settings, provider: str) -> str:
    """Where an admin re-consents; the Connections page links here too."""
    return f"{settings.public_url}/connections/{provider}/connect"


class NeedsReauth(Conflict):
    """The provider no longer accepts the connection's tokens: an admin must reconnect."""

    code = "needs_reauth"

    def __init__(self, settings: Settings, provider: str, reason: str = "") -> None:
        label = display_name(provider)
        super().__init__(
            f"The {label} connection needs to be reconnected by an admin"
            + (f": {reason}" if reason else "."),
            extra={"provider": provider, "reconnect_url": reconnect_url(settings, provider)},
        )


class NotConnected(Conflict):
    """The company has no live connection to this provider."""

    code = "not_connected"

    def __init__(self, settings: Settings, provider: str) -> None:
        label = display_name(provider)
        super().__init__(
            f"{label} is not connected for this company; an admin can connect it.",
            extra={"provider": provider, "reconnect_url": reconnect_url(settings, provider)},
        )


class ConnectRefused(Exception):
    """The connect flow stops on a clear page, with nothing stored.

    ``title`` heads the page; ``message`` says why in plain words; ``status`` is the page's
    HTTP status.
    """

    def __init__(self, title: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status
