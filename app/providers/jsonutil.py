"""JSON with exact money: Decimal in and out, never through float."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    """Serialise ``value``; Decimals become JSON numbers written digit for digit."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value} as a number")
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, datetime | date):
        return json.dumps(value.isoformat())
    return json.dumps(value)


def loads(raw: bytes | str) -> Any:
    """Parse JSON with every non-integer number as Decimal."""
    return json.loads(raw, parse_float=Decimal)


def dec(value: Any) -> Decimal | None:
    """A provider number (int, Decimal or numeric string) as Decimal; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def dec0(value: Any) -> Decimal:
    """Like ``dec`` but 0 for missing values."""
    result = dec(value)
    return result if result is not None else Decimal("0")
