"""The QuickBooks query language subset (quickbooks.md §4).

`SELECT * | count(*) FROM X [WHERE c AND c ...] [ORDERBY f [ASC|DESC], ...] [STARTPOSITION n]
[MAXRESULTS n]` with conditions `f op 'v'` (=, <, >, <=, >=, !=), `f IN ('a', 'b')` and
`f LIKE '%x%'` (only the % wildcard). OR is not supported and is refused as QBO refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.clocktime import parse_time

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),*])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<num>-?\d+(?:\.\d+)?))"
)


@dataclass
class Condition:
    field: str
    op: str  # = < > <= >= != IN LIKE
    values: list[str]


@dataclass
class Query:
    entity: str
    count: bool = False
    extra_fields: list[str] = field(default_factory=list)
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_RESULTS


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip().rstrip(";")
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            rest = text[pos:].strip()
            if not rest:
                break
            raise errors.query_parse(f'Encountered "{rest[:20]}" at column {pos + 1}.')
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def keyword(self, *words: str) -> str | None:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() in words:
            self.i += 1
            return tok[1].upper()
        return None

    def expect(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1].upper() != value):
            found = tok[1] if tok else "<EOF>"
            raise errors.query_parse(
                f'Encountered " "{found}" at token {self.i + 1}. Was expecting {value or kind}.'
            )
        self.i += 1
        return tok[1]

    def parse(self) -> Query:
        self.expect("word", "SELECT")
        count = False
        extra: list[str] = []
        if self.keyword("COUNT"):
            self.expect("punct", "(")
            self.expect("punct", "*")
            self.expect("punct", ")")
            count = True
        else:
            self.expect("punct", "*")
            while self.peek() == ("punct", ","):
                self.i += 1
                extra.append(self.expect("word"))
        self.expect("word", "FROM")
        query = Query(entity=self.expect("word"), count=count, extra_fields=extra)
        if self.keyword("WHERE"):
            query.where.append(self.condition())
            while True:
                if self.keyword("OR"):
                    raise errors.query_parse(
                        f'Encountered " "OR" "OR "" at token {self.i}. OR is not supported; '
                        "use IN or separate queries."
                    )
                if not self.keyword("AND"):
                    break
                query.where.append(self.condition())
        if self.keyword("ORDERBY") or (self.keyword("ORDER") and self.expect("word", "BY")):
            while True:
                name = self.expect("word")
                desc = self.keyword("DESC", "ASC") == "DESC"
                query.order.append((name, desc))
                if self.peek() != ("punct", ","):
                    break
                self.i += 1
        if self.keyword("STARTPOSITION"):
            query.start = max(int(self.expect("num")), 1)
        if self.keyword("MAXRESULTS"):
            query.max_results = min(int(self.expect("num")), MAX_RESULTS)
        if self.peek() is not None:
            tok = self.peek()
            assert tok is not None
            raise errors.query_parse(f'Encountered " "{tok[1]}" at token {self.i + 1}.')
        return query

    def value(self) -> str:
        tok = self.peek()
        if tok is None or tok[0] not in ("str", "num", "word"):
            raise errors.query_parse(f"Was expecting a value at token {self.i + 1}.")
        self.i += 1
        return tok[1]

    def condition(self) -> Condition:
        name = self.expect("word")
        if self.keyword("IN"):
            self.expect("punct", "(")
            values = [self.value()]
            while self.peek() == ("punct", ","):
                self.i += 1
                values.append(self.value())
            self.expect("punct", ")")
            return Condition(name, "IN", values)
        if self.keyword("LIKE"):
            return Condition(name, "LIKE", [self.value()])
        op = self.expect("op")
        return Condition(name, "!=" if op == "<>" else op, [self.value()])


def parse(text: str) -> Query:
    """Parse a query or raise the QueryParserError fault."""
    if not text or not text.strip():
        raise errors.query_parse("Empty query")
    return _Parser(text).parse()


def _lookup(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        # Property names are matched case-insensitively, as QBO does.
        key = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(key) if key else None
    if isinstance(value, dict) and "value" in value:
        return value["value"]  # a reference compares by its Id
    return value


def _comparable(left: Any, right: str) -> tuple[Any, Any] | None:
    if isinstance(left, bool):
        return left, right.lower() == "true"
    if isinstance(left, int | float):
        try:
            return Decimal(str(left)), Decimal(right)
        except InvalidOperation:
            return None
    text = str(left)
    if re.match(r"^\d{4}-\d{2}-\d{2}T", text) or re.match(r"^\d{4}-\d{2}-\d{2}T", right):
        a, b = parse_time(text), parse_time(right)
        if isinstance(a, datetime) and isinstance(b, datetime):
            return a, b
    try:
        return Decimal(text), Decimal(right)
    except InvalidOperation:
        return text, right


def _like(value: str, pattern: str) -> bool:
    regex = "^" + ".*".join(re.escape(p) for p in pattern.split("%")) + "$"
    return re.match(regex, value, re.IGNORECASE | re.DOTALL) is not None


def matches(doc: dict[str, Any], cond: Condition) -> bool:
    left = _lookup(doc, cond.field)
    if left is None:
        return False
    if cond.op == "IN":
        return any(_equal(left, v) for v in cond.values)
    if cond.op == "LIKE":
        return _like(str(left), cond.values[0])
    pair = _comparable(left, cond.values[0])
    if pair is None:
        return False
    a, b = pair
    if cond.op == "=":
        return bool(a == b)
    if cond.op == "!=":
        return bool(a != b)
    try:
        return bool({"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[cond.op])
    except TypeError:
        return False


def _equal(left: Any, right: str) -> bool:
    pair = _comparable(left, right)
    return pair is not None and pair[0] == pair[1]


def _sort_key(doc: dict[str, Any], name: str) -> tuple[int, Any]:
    value = _lookup(doc, name)
    if value is None:
        return (1, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, Decimal(str(value)))
    text = str(value)
    parsed = parse_time(text) if re.match(r"^\d{4}-\d{2}-\d{2}T", text) else None
    if parsed:
        return (0, parsed.timestamp())
    try:
        return (0, Decimal(text)) if re.fullmatch(r"-?\d+(\.\d+)?", text) else (0, text.lower())
    except InvalidOperation:
        return (0, text.lower())


def run(query: Query, docs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Filter, order and page; returns (page, total matches)."""
    hits = [d for d in docs if all(matches(d, c) for c in query.where)]
    for name, desc in reversed(query.order):

        def key(doc: dict[str, Any], field_name: str = name) -> tuple[int, Any]:
            return _sort_key(doc, field_name)

        hits.sort(key=key, reverse=desc)
    total = len(hits)
    start = query.start - 1
    return hits[start : start + query.max_results], total
