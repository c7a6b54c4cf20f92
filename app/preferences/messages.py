"""Pydantic's errors on the preferences form as one plain sentence per field ("Due days must
be a whole number", not "Input should be a valid integer")."""

from __future__ import annotations

from pydantic import ValidationError

# What each form field is called in a message, and pydantic's error types said plainly.
FIELD_NAMES = {
    "due_days": "Due days",
    "tax_rate": "Tax rate",
    "revenue_account": "Revenue account",
    "template": "Template",
    "reference_template": "The invoice reference",
    "tax_mode": "Tax",
}
PLAIN_ERRORS = {
    "int_parsing": "{name} must be a whole number",
    "int_from_float": "{name} must be a whole number",
    "int_type": "{name} must be a whole number",
    "string_too_long": "{name} is too long (at most {max_length} characters)",
    "string_too_short": "{name} cannot be empty",
    "literal_error": "{name} must be one of {expected}",
    "enum": "{name} must be one of {expected}",
}


def validation_messages(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors as one plain sentence per form field."""
    messages: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        name = loc[-1] if loc else "form"
        if loc[:1] == ["due_terms"]:
            name = "due_days"
        elif loc[:1] == ["mapping"] and len(loc) > 1:
            name = loc[1]
        plain = PLAIN_ERRORS.get(str(error.get("type", "")))
        if plain:
            context = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
            context.setdefault("max_length", "")
            context.setdefault("expected", "the listed values")
            message = plain.format(name=FIELD_NAMES.get(name, name.replace("_", " ")), **context)
        else:
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            message = message[:1].upper() + message[1:]
        messages.setdefault(name, message)
    return messages
