"""Tokens encrypted at rest: the process-wide MultiFernet keyring and the column type using it.

The first key in TOKEN_KEYS encrypts; every key decrypts, so keys rotate without downtime.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import String, TypeDecorator
from sqlalchemy.engine import Dialect

from app.errors import AppError


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

    @contextmanager
    def using(self, keys: list[str]) -> Iterator[None]:
        """These keys for the block, then the previous ones again: for a tool (a benchmark's
        tally) that reads another deployment's tokens inside a process that has its own."""
        previous = self._fernet
        self.configure(keys)
        try:
            yield
        finally:
            self._fernet = previous

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
