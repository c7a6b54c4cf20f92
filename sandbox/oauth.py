"""OAuth 2.0 authorization-server building blocks shared by the three stand-ins.

Each stand-in decides its own policy (lifetimes, rotation, grace, error bodies); this module
only stores codes and tokens on the sandbox clock and checks client credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sandbox.clock import Clock
from sandbox.store import Store

CODE_TTL_SECONDS = 300


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """Decode `Authorization: Basic base64(id:secret)`; None when absent or malformed."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (client_id, secret) if sep else None


def client_matches(client: Client, client_id: str, secret: str) -> bool:
    return hmac.compare_digest(client.client_id.encode(), client_id.encode()) and (
        hmac.compare_digest(client.client_secret.encode(), secret.encode())
    )


def pkce_ok(verifier: str | None, challenge: str | None, method: str | None) -> bool:
    if not challenge:
        return True
    if not verifier:
        return False
    if (method or "plain") == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return hmac.compare_digest(computed, challenge)


def redirect_with(uri: str, params: dict[str, Any]) -> str:
    clean = {k: v for k, v in params.items() if v is not None}
    return uri + ("&" if "?" in uri else "?") + urlencode(clean)


class Grants:
    """Authorization codes, access tokens and refresh tokens of one provider."""

    def __init__(self, store: Store, clock: Clock, provider: str) -> None:
        self.store = store
        self.clock = clock
        self.p = provider

    # codes
    def issue_code(self, data: dict[str, Any]) -> str:
        code = secrets.token_urlsafe(24)
        self.store.put(
            f"{self.p}:code",
            code,
            dict(data, expires_at=self.clock.timestamp() + CODE_TTL_SECONDS, used=False),
        )
        return code

    def consume_code(self, code: str) -> tuple[dict[str, Any] | None, str | None]:
        """Return (code data, None) or (None, reason): unknown, used or expired."""
        with self.store.transaction():
            data = self.store.get(f"{self.p}:code", code)
            if data is None:
                return None, "unknown"
            if data["used"]:
                return None, "used"
            data["used"] = True
            self.store.put(f"{self.p}:code", code, data)
        if data["expires_at"] < self.clock.timestamp():
            return None, "expired"
        return data, None

    # tokens
    def issue_access(
        self,
        grant_id: str,
        ttl: int,
        extra: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> str:
        """Store an access token; ``token`` lets a provider mint its own (e.g. a signed JWT)."""
        token = token or secrets.token_urlsafe(32)
        self.store.put(
            f"{self.p}:access",
            token,
            dict(extra or {}, grant_id=grant_id, expires_at=self.clock.timestamp() + ttl),
            scope=grant_id,
        )
        return token

    def issue_refresh(self, grant_id: str, ttl: int) -> str:
        token = secrets.token_urlsafe(32)
        self.store.put(
            f"{self.p}:refresh",
            token,
            {
                "grant_id": grant_id,
                "expires_at": self.clock.timestamp() + ttl,
                "superseded_at": None,
                "revoked": False,
            },
            scope=grant_id,
        )
        return token

    def access(self, token: str) -> dict[str, Any] | None:
        """The live access-token record, or None when unknown, expired or revoked."""
        data = self.store.get(f"{self.p}:access", token)
        if data is None or data.get("revoked") or data["expires_at"] < self.clock.timestamp():
            return None
        grant = self.grant(data["grant_id"])
        if grant is None or grant.get("revoked"):
            return None
        return data

    def refresh_record(self, token: str) -> dict[str, Any] | None:
        return self.store.get(f"{self.p}:refresh", token)

    def mark_superseded(self, token: str) -> None:
        data = self.refresh_record(token)
        if data and data["superseded_at"] is None:
            data["superseded_at"] = self.clock.timestamp()
            self.store.put(f"{self.p}:refresh", token, data, scope=data["grant_id"])

    def extend_refresh(self, token: str, ttl: int) -> None:
        data = self.refresh_record(token)
        if data:
            data["expires_at"] = self.clock.timestamp() + ttl
            self.store.put(f"{self.p}:refresh", token, data, scope=data["grant_id"])

    # grants: one consent of one user, with whatever the provider attaches (tenants, realm...)
    def create_grant(self, data: dict[str, Any]) -> str:
        grant_id = secrets.token_hex(8)
        self.store.put(f"{self.p}:grant", grant_id, dict(data, id=grant_id, revoked=False))
        return grant_id

    def grant(self, grant_id: str) -> dict[str, Any] | None:
        return self.store.get(f"{self.p}:grant", grant_id)

    def save_grant(self, grant: dict[str, Any]) -> None:
        self.store.put(f"{self.p}:grant", grant["id"], grant)

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke a whole grant; token lookups check their grant, so every token dies."""
        grant = self.grant(grant_id)
        if grant:
            grant["revoked"] = True
            self.save_grant(grant)
