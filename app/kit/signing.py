"""Signed, expiring tokens (OAuth state, session tokens, one-time picks) and constant-time
comparison.

Tokens are compact JWTs (HS256) made and checked by joserfc, already our JWT library for
Pipedrive's iframe tokens, rather than itsdangerous, which would be one more dependency doing
the same job. joserfc checks the signature in constant time and the ``exp`` claim on decode.

Each purpose (say, OAuth state) signs with its own key derived from SECRET_KEY, so a value
signed for one purpose never verifies for another (a session). Single use is the callers'
business: they consume what a token names (a pending connection, a nonce) in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from typing import Any

from joserfc import errors as jose_errors
from joserfc import jwt
from joserfc.jwk import OctKey

from app.errors import Unauthorized

ALGORITHM = "HS256"


def derived_key(*parts: object) -> str:
    """A provider idempotency key derived from ``parts`` (joined with ":"): 36 characters, a
    UUID's shape (fits Xero's 128 and QuickBooks' 50), the same for the same parts."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
    return str(uuid.UUID(hex=digest[:32]))


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare secrets without leaking, through timing, how much of them matched."""
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


class Signer:
    """Signs small JSON payloads for one purpose with an expiry."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        derived = hashlib.sha256(f"{purpose}\x00{secret_key}".encode()).digest()
        self._key = OctKey.import_key(derived)
        self.purpose = purpose

    def sign(self, payload: dict[str, Any], ttl_seconds: int) -> str:
        """A token carrying ``payload`` plus ``exp`` and a random ``nonce`` (unless given)."""
        claims = dict(payload, exp=int(time.time()) + ttl_seconds)
        if "nonce" not in claims:
            claims["nonce"] = secrets.token_urlsafe(12)
        return jwt.encode({"alg": ALGORITHM}, claims, self._key, algorithms=[ALGORITHM])

    def unsign(self, token: str) -> dict[str, Any]:
        """Return the payload, or raise Unauthorized naming why it is refused."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
        except (jose_errors.JoseError, ValueError, TypeError) as exc:
            raise Unauthorized(f"the {self.purpose} token is invalid") from exc
        claims = dict(decoded.claims)
        try:
            jwt.JWTClaimsRegistry(exp={"essential": True}).validate(claims)
        except jose_errors.ExpiredTokenError as exc:
            raise Unauthorized(f"the {self.purpose} token has expired") from exc
        except jose_errors.JoseError as exc:
            raise Unauthorized(f"the {self.purpose} token is invalid") from exc
        return claims
