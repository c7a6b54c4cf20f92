"""Pure rules of invoice automation: whether a deal matches a rule, what stops a rule from
invoicing (in the dialog's words), the exactly-once key of a (rule, deal), and the overdue
follow-up's step and words. No database, CRM or provider calls here."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency

from app.invoices.schemas import Check, DraftOut
from app.providers.money import from_minor

WON, STAGE = "won", "stage"
# A rule's invoice is created with the provider's tax when it differs from the deal's (the
# dialog asks; a rule cannot): the firing's log says so.
ACCEPTED_CONFIRMATIONS = ("tax_differs",)
# Pipedrive's times have whole seconds and its clock is not ours: a deal won this long before
# the rule was saved still counts as won after it.
CLOCK_SKEW = timedelta(minutes=1)


@dataclass(frozen=True)
class RuleSpec:
    """A rule as one firing sees it (snapshotted into the firing: an edit while it fires does
    not change what it does)."""

    id: str
    version: int
    name: str
    provider: str
    trigger: str
    pipeline_id: int | None
    stage_id: int | None
    only_with_products: bool
    min_amount_minor: int | None
    currency: str | None
    active_since: datetime

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data["active_since"] = self.active_since.isoformat()
        return data

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> RuleSpec:
        return cls(**{**data, "active_since": datetime.fromisoformat(data["active_since"])})


@dataclass(frozen=True)
class DealFacts:
    """What the rules look at on a deal, read fresh from Pipedrive (webhooks are triggers)."""

    id: int
    status: str
    pipeline_id: int | None
    stage_id: int | None
    value: Decimal
    currency: str
    has_products: bool
    owner_id: int | None
    won_time: datetime | None = None
    stage_time: datetime | None = None
    is_deleted: bool = False


def parse_time(raw: Any) -> datetime | None:
    """Pipedrive's v2 RFC 3339 times, v1's ``YYYY-MM-DD HH:MM:SS`` (UTC) and epoch seconds."""
    if raw in (None, ""):
        return None
    if isinstance(raw, int | float):
        return datetime.fromtimestamp(raw, UTC)
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def facts_of(raw: dict[str, Any], has_products: bool) -> DealFacts:
    """DealFacts from a v2 deal object."""
    stage_time = raw.get("stage_change_time") or raw.get("add_time")
    return DealFacts(
        id=int(raw["id"]),
        status=str(raw.get("status") or "open"),
        pipeline_id=raw.get("pipeline_id"),
        stage_id=raw.get("stage_id"),
        value=Decimal(str(raw.get("value") or 0)),
        currency=str(raw.get("currency") or ""),
        has_products=has_products,
        owner_id=raw.get("owner_id"),
        won_time=parse_time(raw.get("won_time")),
        stage_time=parse_time(stage_time),
        is_deleted=bool(raw.get("is_deleted")),
    )


def mismatch(rule: RuleSpec, deal: DealFacts) -> str | None:
    """None when ``deal`` is one ``rule`` invoices now; else why not, in words.

    Level-triggered: the deal's current state decides, so duplicates, replays and events in
    any order come to the same answer. Deals that matched before the rule was active are left
    alone (no back-billing of old won deals when a rule is created)."""
    if deal.is_deleted or deal.status == "deleted":
        return "the deal is deleted"
    if rule.trigger == WON:
        if deal.status != "won":
            return f"the deal is {deal.status}, not won"
        if deal.won_time is not None and deal.won_time < rule.active_since - CLOCK_SKEW:
            return "the deal was won before the rule was active"
    else:
        if deal.status == "lost":
            return "the deal is lost"
        if (deal.pipeline_id, deal.stage_id) != (rule.pipeline_id, rule.stage_id):
            return "the deal is not in the rule's stage"
        if deal.stage_time is not None and deal.stage_time < rule.active_since - CLOCK_SKEW:
            return "the deal reached the stage before the rule was active"
    return filter_mismatch(rule, deal)


def filter_mismatch(rule: RuleSpec, deal: DealFacts) -> str | None:
    if rule.only_with_products and not deal.has_products:
        return "the deal has no products"
    if rule.currency and deal.currency != rule.currency:
        return f"the deal is in {deal.currency}, not {rule.currency}"
    if rule.min_amount_minor is not None:
        floor = from_minor(rule.min_amount_minor, rule.currency or deal.currency or "USD")
        if deal.value <= floor:
            return f"the deal's value {deal.value} is not above {floor}"
    return None


def intent_key(company_id: str, rule_id: str, deal_id: int) -> str:
    """The Idempotency-Key of the rule's invoice for the deal: one intent per (company, rule,
    deal), whatever fires it how often (the intent table's unique key holds it)."""
    digest = hashlib.sha256(f"{company_id}:{rule_id}:{deal_id}".encode()).hexdigest()[:32]
    return f"rule:{digest}"


def blockers(draft: DraftOut, label: str) -> list[Check]:
    """What stops a rule from invoicing the draft, in the dialog's words: its blocking checks
    (less the confirmations a rule gives), an unlinked product (the dialog would let a person
    send it as a description-only line; a rule does not guess), and a customer with no linked
    contact and no unique match (a person would pick or create one)."""
    out: list[Check] = []
    for check in draft.checks:
        if check.code in ACCEPTED_CONFIRMATIONS:
            continue
        if check.severity in ("error", "confirm"):
            out.append(check)
        elif check.code == "item_missing":
            words = check.message.split(";")[0]
            out.append(check.model_copy(update={"message": f"{words}; link one or create it."}))
    if draft.customer.contact is None and not any(c.code == "contact_missing" for c in out):
        out.append(
            Check(
                code="contact_missing",
                severity="error",
                field="customer",
                message=f"Choose the {label} contact to invoice, or create one.",
            )
        )
    return out


def reasons_digest(checks: Sequence[Check]) -> str:
    text = "\n".join(sorted(f"{c.code}:{c.field}:{c.message}" for c in checks))
    return hashlib.sha256(text.encode()).hexdigest()


def accepted_warnings(draft: DraftOut) -> list[str]:
    return [c.message for c in draft.checks if c.code in ACCEPTED_CONFIRMATIONS]


def due_step(steps: Sequence[int], days_overdue: int) -> int | None:
    """The reminder step an invoice ``days_overdue`` has reached (the largest step not past
    it), or None before the first. Steps passed while nobody looked are not sent late: only
    the latest one is."""
    reached = [s for s in steps if 0 < s <= days_overdue]
    return max(reached) if reached else None


def days_overdue(due: date | None, today: date) -> int:
    return (today - due).days if due else 0


def money_text(amount: Decimal, currency: str, locale: str = "en") -> str:
    return str(format_currency(amount, currency, locale=locale))


def overdue_subject(
    customer: str, number: str, amount: Decimal, currency: str, days: int, locale: str = "en"
) -> str:
    """ "Acme Ltd: INV-0005 NZ$6,957.50 is 3 days overdue" (at most 255 characters)."""
    unit = "day" if days == 1 else "days"
    text = f"{customer}: {number} {money_text(amount, currency, locale)} is {days} {unit} overdue"
    return text[:255]


def parse_steps(raw: str) -> list[int]:
    """ "1, 7, 14" → [1, 7, 14]; ValueError naming the problem otherwise."""
    parts = [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError("give at least one number of days")
    steps: set[int] = set()
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= 365:
            raise ValueError(f"{part!r} is not a number of days between 1 and 365")
        steps.add(int(part))
    if len(steps) > 10:
        raise ValueError("at most 10 reminder steps")
    return sorted(steps)
