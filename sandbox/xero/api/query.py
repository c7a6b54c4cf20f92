"""List-query features shared by the GET endpoints: the `where` subset, `order`, paging,
`If-Modified-Since`, comma-separated id filters (xero.md 4, 10.6)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from sandbox.xero.state import ms

DEFAULT_PAGE_SIZE = 100
# Third-party figure for the pageSize cap (xero.md 10.6, UNCONFIRMED).
MAX_PAGE_SIZE = 1000


class QueryError(ValueError):
    """A `where`, `order` or paging value the stand-in cannot read."""


_COMPARISON = re.compile(
    r"^\s*(?P<field>[A-Za-z][\w.]*)\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>.+?)\s*$"
)
_METHOD = re.compile(
    r'^\s*(?P<field>[A-Za-z][\w.]*)\.(?P<method>Contains|StartsWith|EndsWith)\(\s*"(?P<arg>[^"]*)"\s*\)\s*$'
)


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    guid = re.fullmatch(r'Guid\(\s*"?([0-9a-fA-F-]{36})"?\s*\)', text)
    if guid:
        return guid.group(1).lower()
    when = re.fullmatch(r"DateTime\(\s*(\d{4})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)", text)
    if when:
        y, m, d = (int(g) for g in when.groups())
        return f"{y:04d}-{m:02d}-{d:02d}"
    try:
        return float(text)
    except ValueError as exc:
        raise QueryError(f"cannot read {text!r} in the where clause") from exc


def _field(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _normalise(value: Any, like: Any) -> Any:
    if isinstance(like, bool) or like is None:
        return value
    if isinstance(like, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if isinstance(value, str):
        return value.lower() if re.fullmatch(r"[0-9a-fA-F-]{36}", value) else value
    return value


def _compare(doc: dict[str, Any], clause: str) -> bool:
    method = _METHOD.match(clause)
    if method:
        value = str(_field(doc, method["field"]) or "").lower()
        arg = method["arg"].lower()
        return {
            "Contains": arg in value,
            "StartsWith": value.startswith(arg),
            "EndsWith": value.endswith(arg),
        }[method["method"]]
    match = _COMPARISON.match(clause)
    if not match:
        raise QueryError(f"cannot read {clause.strip()!r} in the where clause")
    expected = _literal(match["value"])
    actual = _normalise(_field(doc, match["field"]), expected)
    if isinstance(actual, str) and isinstance(expected, str):
        expected = expected.lower() if re.fullmatch(r"[0-9a-fA-F-]{36}", expected) else expected
    op = match["op"]
    if op == "==":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if actual is None or expected is None:
        return False
    try:
        return bool(
            {
                ">": actual > expected,
                "<": actual < expected,
                ">=": actual >= expected,
                "<=": actual <= expected,
            }[op]
        )
    except TypeError as exc:
        raise QueryError(f"cannot compare {match['field']}") from exc


def where(docs: list[dict[str, Any]], expression: str | None) -> list[dict[str, Any]]:
    """Filter by the `where` subset: comparisons, .Contains/.StartsWith/.EndsWith, AND/OR."""
    if not expression or not expression.strip():
        return docs
    alternatives = re.split(r"\s*(?:\|\||\bOR\b)\s*", expression)
    groups = [re.split(r"\s*(?:&&|\bAND\b)\s*", alt) for alt in alternatives]
    for group in groups:
        for clause in group:
            if not clause.strip():
                raise QueryError("empty clause in the where expression")
    return [d for d in docs if any(all(_compare(d, c) for c in g) for g in groups)]


def order(docs: list[dict[str, Any]], expression: str | None) -> list[dict[str, Any]]:
    if not expression:
        return docs
    out = list(docs)
    for part in reversed([p.strip() for p in expression.split(",") if p.strip()]):
        bits = part.split()
        field = bits[0]
        descending = len(bits) > 1 and bits[1].upper() == "DESC"
        out.sort(
            key=lambda d: (_field(d, field) is None, str(_field(d, field) or "")),
            reverse=descending,
        )
    return out


def modified_since(docs: list[dict[str, Any]], header: str | None) -> list[dict[str, Any]]:
    """Keep documents updated after the `If-Modified-Since` instant (ISO or HTTP date)."""
    if not header:
        return docs
    try:
        moment = datetime.fromisoformat(header.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError) as exc:
            raise QueryError("If-Modified-Since is not a date") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    cutoff = ms(moment)
    return [d for d in docs if int(d.get("UpdatedDateUTC") or 0) > cutoff]


def id_list(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    return [p.strip().lower() for p in raw.split(",") if p.strip()]


def paginate(
    docs: list[dict[str, Any]], page: str | None, page_size: str | None
) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
    """Apply `page`/`pageSize`; the pagination object is only answered on paged GETs."""
    if page is None:
        return docs, None
    try:
        number = max(int(page), 1)
        size = int(page_size) if page_size else DEFAULT_PAGE_SIZE
    except ValueError as exc:
        raise QueryError("page and pageSize must be whole numbers") from exc
    size = min(max(size, 1), MAX_PAGE_SIZE)
    count = len(docs)
    pages = (count + size - 1) // size
    chunk = docs[(number - 1) * size : number * size]
    return chunk, {"page": number, "pageSize": size, "pageCount": pages, "itemCount": count}
