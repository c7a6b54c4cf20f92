"""Xero's default representation: XML, for requests that don't accept JSON.

Xero answers `<Response>` documents whose lists hold one element per item, named in the
singular (`<Invoices><Invoice>…`), and errors as `<ApiException>`. This renders the same data
the JSON answers carry, so a client that asks for XML sees the same invoice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

IRREGULAR = {
    "Currencies": "Currency",
    "Addresses": "Address",
    "Elements": "DataContractBase",
    "TaxComponents": "TaxComponent",
    "ContactPersons": "ContactPerson",
    "Phones": "Phone",
}


def singular(plural: str) -> str:
    if plural in IRREGULAR:
        return IRREGULAR[plural]
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    if plural.endswith("s"):
        return plural[:-1]
    return plural + "Item"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value)
    # MS-JSON dates read as ISO timestamps in XML, as Xero's XML answers do.
    if text.startswith("/Date(") and text.endswith(")/"):
        from datetime import UTC, datetime

        millis = int(text[6:-2].split("+")[0].split("-")[0] or 0)
        return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text


def _element(name: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        out.append(f"<{name}>")
        for key, inner in value.items():
            _element(key, inner, out)
        out.append(f"</{name}>")
    elif isinstance(value, list):
        out.append(f"<{name}>")
        child = singular(name)
        for item in value:
            _element(child, item, out)
        out.append(f"</{name}>")
    else:
        out.append(f"<{name}>{escape(_scalar(value))}</{name}>")


def render(root: str, data: dict[str, Any]) -> bytes:
    out: list[str] = [
        f'<{root} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
    ]
    for key, value in data.items():
        _element(key, value, out)
    out.append(f"</{root}>")
    return "".join(out).encode()


def _parse_element(element: Any) -> Any:
    children = list(element)
    if not children:
        text = (element.text or "").strip()
        return {"true": True, "false": False}.get(text, text)
    tags = {child.tag for child in children}
    # A list is a parent whose children all carry its singular name (<LineItems><LineItem>).
    if len(tags) == 1 and singular(element.tag) in tags:
        return [_parse_element(child) for child in children]
    return {child.tag: _parse_element(child) for child in children}


def parse(raw: bytes) -> Any:
    """An XML request body (`<Invoices><Invoice>…`) as the same structure JSON would give.

    Raises ValueError when the body is not well-formed XML.
    """
    # ElementTree resolves no external entities and the bundled expat (>= 2.4.1) refuses
    # entity-expansion bombs, which is enough for a local stand-in.
    from xml.etree.ElementTree import ParseError, fromstring

    try:
        root = fromstring(raw)  # noqa: S314
    except ParseError as exc:
        raise ValueError("not well-formed XML") from exc
    return {root.tag: _parse_element(root)}
