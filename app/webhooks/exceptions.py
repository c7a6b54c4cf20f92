"""What a webhook sender is told when its delivery is refused."""

from __future__ import annotations

from app.errors import BadRequest, Unauthorized


class BadSignature(Unauthorized):
    code = "bad_signature"


class MalformedDelivery(BadRequest):
    code = "malformed_webhook"
