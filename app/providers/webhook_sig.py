"""HMAC-SHA256 webhook signatures, as both Xero and QuickBooks compute them."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(raw_body: bytes, key: str) -> str:
    """base64(HMAC-SHA256(key, raw body)): what the provider puts in its signature header."""
    digest = hmac.new(key.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(raw_body: bytes, signature: str | None, key: str) -> bool:
    """Constant-time check of a signature header over the exact bytes received."""
    if not signature or not key:
        return False
    return hmac.compare_digest(sign(raw_body, key).encode(), signature.strip().encode())
