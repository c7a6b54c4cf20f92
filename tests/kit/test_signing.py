"""Signed, expiring tokens: round trip, expiry, forgery, one purpose never passing for another."""

from __future__ import annotations

import pytest

from app.errors import Unauthorized
from app.kit.signing import Signer, constant_time_equals

SECRET = "a-secret-key-that-is-long-enough-for-tests"


def test_round_trip_adds_expiry_and_nonce() -> None:
    signer = Signer(SECRET, "state")
    claims = signer.unsign(signer.sign({"c": "company", "n": 3}, 60))
    assert claims["c"] == "company" and claims["n"] == 3
    assert claims["exp"] > 0 and claims["nonce"]
    # Two tokens for the same payload differ (fresh nonce), so neither can stand for the other.
    assert signer.sign({"c": "company"}, 60) != signer.sign({"c": "company"}, 60)


def test_expired_token_is_refused() -> None:
    signer = Signer(SECRET, "state")
    with pytest.raises(Unauthorized, match="state token has expired"):
        signer.unsign(signer.sign({"c": "company"}, -1))


def test_other_purpose_or_key_or_tampering_is_refused() -> None:
    token = Signer(SECRET, "state").sign({"c": "company"}, 60)
    with pytest.raises(Unauthorized, match="session token is invalid"):
        Signer(SECRET, "session").unsign(token)
    with pytest.raises(Unauthorized, match="state token is invalid"):
        Signer(SECRET + "x", "state").unsign(token)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for bad in (f"{header}.{payload}.{flipped}", "garbage", "", f"{header}.{payload}."):
        with pytest.raises(Unauthorized, match="state token is invalid"):
            Signer(SECRET, "state").unsign(bad)


def test_constant_time_equals() -> None:
    assert constant_time_equals("abc", b"abc")
    assert not constant_time_equals("abc", "abd")
