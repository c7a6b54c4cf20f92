"""The marker an invoice creation writes on the invoice it creates, so that a lost answer is
found again through what that creation itself wrote, never by resemblance.

The marker is the intent's provider idempotency key (a UUID). Xero keeps it as the fragment
of the invoice's ``Url`` (the deal link, which Xero shows as the source document; browsers
ignore the fragment); QuickBooks as one line of the internal ``PrivateNote``. Mapping reads it
back into ``Invoice.marker`` and leaves it out of what users see.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from app.providers.dto import Invoice, Page
from app.providers.errors import ProviderUnavailable

FRAGMENT = "invoicing-intent="
NOTE_PREFIX = "Invoicing intent: "
MARKER = re.compile(
    r"(?:invoicing-intent=|Invoicing intent: )([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})"
)
# Enough pages to cover any one contact's invoices of one day.
MAX_PAGES = 20


def url_with_marker(url: str, marker: str) -> str:
    """``url`` with the marker as its fragment (any earlier fragment replaced)."""
    return f"{url.split('#', 1)[0]}#{FRAGMENT}{marker}"


def note_with_marker(note: str, marker: str, limit: int) -> str:
    """``note`` with the marker as its last line, the note cut so the marker always fits."""
    line = NOTE_PREFIX + marker
    room = limit - len(line) - 1
    return f"{note[:room]}\n{line}" if note else line


def marker_in(text: str | None) -> str | None:
    found = MARKER.search(text or "")
    return found.group(1) if found else None


def without_marker(text: str | None) -> str | None:
    """What users see: the URL without our fragment, the note without our line."""
    if not text:
        return text
    if FRAGMENT in text:
        text = text.split("#" + FRAGMENT, 1)[0]
    lines = [line for line in text.split("\n") if not line.startswith(NOTE_PREFIX)]
    return "\n".join(lines).strip() or None


Search = Callable[[int], Awaitable[Page[Invoice]]]


async def find_marked(search: Search, marker: str) -> Invoice | None:
    """Page through ``search`` (a contact's invoices of one day) for the marked invoice.
    Raises whatever the search raises: a failed lookup is never read as "not found"."""
    for page in range(1, MAX_PAGES + 1):
        result = await search(page)
        for invoice in result.items:
            if invoice.marker == marker:
                return invoice
        if not result.has_more:
            return None
    # Not read to the end: that is not a definitive "not there".
    raise ProviderUnavailable(f"Too many invoices to look through for {marker}.", provider="")
