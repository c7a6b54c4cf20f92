"""Secrets handling: tokens encrypted at rest, signed short-lived values, constant-time checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import String, TypeDecorator
from sqlalchemy.engine import Dialect

from app.errors import AppError, Unauthorized


class TokenKeyError(AppError):
    """A stored token cannot be decrypted with any key in TOKEN_KEYS."""

    status_code = 503
    code = "token_key_missing"


class _Keyring:
    """The process-wide MultiFernet; configured once from TOKEN_KEYS at start-up."""

    def __init__(self) -> None:
        self._fernet: MultiFernet | None = None

    def configure(self, keys: list[str]) -> None:
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    @property
    def fernet(self) -> MultiFernet:
        if self._fernet is None:
            raise RuntimeError("token keys are not configured")
        return self._fernet

    def encrypt(self, plain: str) -> str:
        return self.fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self.fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise TokenKeyError(
                "a stored token was encrypted with a key that is no longer in TOKEN_KEYS"
            ) from exc

    def rotate(self, token: str) -> str:
        try:
            return self.fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise TokenKeyError(
                "a stored token was encrypted with a key that is no longer in TOKEN_KEYS"
            ) from exc


keyring = _Keyring()


class EncryptedString(TypeDecorator[str]):
    """A string column stored as Fernet ciphertext; the first TOKEN_KEYS key encrypts."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring.decrypt(value)


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs small JSON payloads for one purpose with an expiry (HMAC-SHA256).

    A value signed for one purpose (say, OAuth state) never verifies for another (a session).
    """

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._key = hashlib.sha256(f"{purpose}\x00{secret_key}".encode()).digest()
        self.purpose = purpose

    def sign(self, payload: dict[str, Any], ttl_seconds: int) -> str:
        body = dict(payload, exp=int(time.time()) + ttl_seconds)
        if "nonce" not in body:
            body["nonce"] = secrets.token_urlsafe(12)
        data = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        mac = _b64(hmac.new(self._key, data.encode(), hashlib.sha256).digest())
        return f"{data}.{mac}"

    def unsign(self, token: str) -> dict[str, Any]:
        """Return the payload, or raise Unauthorized naming why it is refused."""
        data, _, mac = token.partition(".")
        expected = _b64(hmac.new(self._key, data.encode(), hashlib.sha256).digest())
        if not mac or not constant_time_equals(mac, expected):
            raise Unauthorized(f"the {self.purpose} token is invalid")
        try:
            body: dict[str, Any] = json.loads(_unb64(data))
        except ValueError as exc:
            raise Unauthorized(f"the {self.purpose} token is invalid") from exc
        if int(body.get("exp", 0)) < time.time():
            raise Unauthorized(f"the {self.purpose} token has expired")
        return body
