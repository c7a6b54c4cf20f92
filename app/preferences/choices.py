"""The provider's own lists behind three defaults: tax rate, revenue account and template
(Xero's branding theme). The preferences page offers them as searchable lists, and a save is
checked against them, so a code the provider does not know ("BOGUS", "999") is never stored.

What a provider offers is the adapter's business: its ``features.templates`` says whether it
has templates at all (QuickBooks Online does not), and the lists come from ``list_tax_rates``,
``list_accounts`` and ``list_templates``. Nothing here names a provider.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.dependencies import get_token_service
from app.connections.repository import ConnectionRepository
from app.errors import AppError, ServiceUnavailable, ValidationFailed
from app.preferences.schemas import DefaultsIn, PreferencesIn

# The checked fields, as the page and the messages call them.
CHOICE_FIELDS = {
    "tax_rate": "Tax rate",
    "revenue_account": "Revenue account",
    "template": "Template",
}


@dataclass(frozen=True)
class Choice:
    value: str  # what is stored and sent (tax code, account code, theme name)
    label: str  # what the user reads beside it
    aliases: tuple[str, ...] = ()  # other spellings that mean the same (name, id)

    def matches(self, typed: str) -> bool:
        wanted = typed.strip().casefold()
        return wanted in (self.value.casefold(), *(a.casefold() for a in self.aliases))


@dataclass(frozen=True)
class ProviderChoices:
    """What the connected provider lets these defaults be. ``connected`` False: nothing to
    choose from (the fields are off); ``problem`` set: the lists could not be read just now."""

    display_name: str
    connected: bool = False
    problem: str | None = None
    tax_rates: tuple[Choice, ...] = ()
    accounts: tuple[Choice, ...] = ()
    # None: the provider has no templates (the field is hidden).
    templates: tuple[Choice, ...] | None = None

    @property
    def usable(self) -> bool:
        return self.connected and self.problem is None

    def listing(self, field: str) -> tuple[Choice, ...] | None:
        return {
            "tax_rate": self.tax_rates,
            "revenue_account": self.accounts,
            "template": self.templates,
        }[field]


async def provider_choices(
    request: Request, session: AsyncSession, company_id: str, provider: str
) -> ProviderChoices:
    """The provider's lists for the company's live connection (read from the provider)."""
    tokens = get_token_service(request)
    adapter = tokens.facade(provider).adapter
    name = adapter.display_name
    if await ConnectionRepository(session, company_id).live(provider) is None:
        return ProviderChoices(display_name=name)

    try:
        features, rates, accounts, templates = await asyncio.gather(
            tokens.call(company_id, provider, adapter.get_features),
            tokens.call(company_id, provider, adapter.list_tax_rates),
            tokens.call(company_id, provider, adapter.list_accounts),
            tokens.call(company_id, provider, adapter.list_templates),
        )
    except AppError as exc:
        return ProviderChoices(display_name=name, connected=True, problem=exc.message)
    return ProviderChoices(
        display_name=name,
        connected=True,
        tax_rates=tuple(
            Choice(r.code, f"{r.name} ({r.rate.normalize():f} %)", (r.name,))
            for r in rates
            if r.can_apply_to_revenue
        ),
        accounts=tuple(
            Choice(a.code, f"{a.code} – {a.name}" if a.code != a.id else a.name, (a.name, a.id))  # noqa: RUF001
            for a in accounts
        ),
        templates=tuple(Choice(t.name, t.name, (t.id,)) for t in templates)
        if features.templates
        else None,
    )


def given(defaults: DefaultsIn) -> dict[str, str]:
    """The checked fields the admin filled in."""
    values = {field: getattr(defaults, field) for field in CHOICE_FIELDS}
    return {field: value for field, value in values.items() if value}


def choice_problems(
    defaults: DefaultsIn, choices: ProviderChoices, kept: DefaultsIn | None = None
) -> dict[str, str]:
    """Each filled-in field the provider's lists do not hold, with a plain sentence. While the
    lists cannot be read (not connected, or the provider is down) a value already saved
    (``kept``) stays as it is, so the other preferences can still be saved; nothing new is."""
    problems: dict[str, str] = {}
    provider = choices.display_name
    for field, value in given(defaults).items():
        label = CHOICE_FIELDS[field]
        if not choices.usable and kept is not None and getattr(kept, field) == value:
            continue
        if not choices.connected:
            problems[field] = (
                f"{label} is chosen from {provider}'s own list: connect {provider} first "
                f"(or leave it empty)."
            )
            continue
        if choices.problem is not None:
            problems[field] = (
                f"{label} could not be checked against {provider} just now "
                f"({choices.problem}); nothing was saved."
            )
            continue
        listing = choices.listing(field)
        if listing is None:
            problems[field] = f"{provider} has no invoice templates; leave {label} empty."
        elif not any(choice.matches(value) for choice in listing):
            problems[field] = f"{label} “{value}” is not in {provider}: choose one from the list."
    return problems


def canonical(defaults: DefaultsIn, choices: ProviderChoices) -> DefaultsIn:
    """The defaults with each checked value as the provider spells it (a theme typed in lower
    case, or a tax rate chosen by its name, is stored as the code or name the provider lists)."""
    changes: dict[str, str] = {}
    for field, value in given(defaults).items():
        for choice in choices.listing(field) or ():
            if choice.matches(value):
                changes[field] = choice.value
                break
    return defaults.model_copy(update=changes) if changes else defaults


def checked(
    prefs: PreferencesIn, choices: ProviderChoices, kept: DefaultsIn | None = None
) -> PreferencesIn:
    """``prefs`` with the checked defaults in the provider's spelling, or the refusal: 422
    naming each field the provider's lists do not hold (503 when they cannot be read now)."""
    problems = choice_problems(prefs.defaults, choices, kept)
    if problems:
        field = next(iter(problems))
        error = ServiceUnavailable if choices.connected and choices.problem else ValidationFailed
        raise error(" ".join(problems.values()), field=f"defaults.{field}")
    return prefs.model_copy(update={"defaults": canonical(prefs.defaults, choices)})
