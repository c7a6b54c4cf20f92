"""Numbers as the user writes them: amounts and quantities read in their Pipedrive locale.

"1,5" is one and a half to a German user and fifteen hundred-ish to no one: in en_NZ, where a
comma groups thousands, it is ambiguous (15? 1.5?), so it is refused with a sentence naming
the field instead of being read as 15. Unambiguous forms are accepted: the locale's own
(``1.500,5`` in de_DE, ``1,500.5`` in en_NZ) and plain digits with the locale's decimal mark.
"""

from __future__ import annotations

from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol, parse_decimal

DEFAULT_LOCALE = "en"
# Spaces people type for a group separator that the locale writes as a narrow no-break space.
_SPACES = (" ", "\u00a0", "\u202f", "\u2009")


def user_locale(raw: str | None) -> str:
    """Pipedrive's locale (``en_NZ``, ``de-DE``) as a babel locale name; English when unknown."""
    if not raw:
        return DEFAULT_LOCALE
    try:
        return str(Locale.parse(raw.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        return DEFAULT_LOCALE


class AmbiguousNumber(ValueError):
    """The text is not a number in the user's locale; the message is the sentence to show."""


def parse_number(text: str, name: str, locale: str) -> Decimal:
    """``text`` read in ``locale``, strictly (a misplaced group separator is refused).

    Raises ``AmbiguousNumber`` with a plain sentence naming the field ``name``."""
    value = text.strip()
    if get_group_symbol(locale) in _SPACES:
        for space in _SPACES:
            value = value.replace(space, "")
    try:
        return parse_decimal(value, locale=locale, strict=True)
    except NumberFormatError as exc:
        suggestions = [s for s in (getattr(exc, "suggestions", None) or []) if s]
        if len(suggestions) >= 2:
            raise AmbiguousNumber(
                f"The {name} “{text.strip()}” could mean {suggestions[0]} or {suggestions[1]}; "
                f"type it as {suggestions[1]} or {suggestions[0]} (decimal mark "
                f"“{get_decimal_symbol(locale)}”)."
            ) from exc
        raise AmbiguousNumber(f"The {name} must be a number.") from exc


def plain_in(text: str, locale: str) -> str:
    """A plain number (``1500.5``) with the locale's decimal mark and no grouping (``1500,5``)."""
    return text.replace(".", get_decimal_symbol(locale)) if text else text
