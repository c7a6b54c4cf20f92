"""Parts of a deal: a deposit, milestones, the balance. No I/O here.

A deal is invoiced in parts when the dialog (or the API) names one: a percentage of the deal,
an amount, or the balance (what is left). Every amount is worked in the currency's minor units
(babel knows each currency's digits: JPY 0, EUR 2, BHD 3), so:

* a percentage part is the deal's value x % / 100, rounded half up to the minor unit;
* the balance is the deal's value less every earlier part: the final invoice takes exactly the
  remainder, so all of a deal's invoices add up to the deal's value to the minor unit;
* a part's lines are the deal's lines scaled in proportion, each rounded half up, with the
  rounding remainder on the last line, so the part's lines add up to the part exactly.

The deal's value here is what its lines come to (net of line and deal discounts): excluding
tax when the invoice is tax exclusive, including it when inclusive. Tax stays the provider's:
each invoice's tax is worked out on its own lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from babel.numbers import NumberFormatError, get_currency_precision, parse_decimal

PartKind = Literal["percent", "amount", "balance"]
HUNDRED = Decimal(100)
# Beyond this a part is a typo, not an invoice (the API's bound on amounts).
MAX_NUMBER = Decimal("999999999999")


class PartError(ValueError):
    """A part that cannot be invoiced; the message is the sentence to show."""

    def __init__(self, message: str, field: str = "part") -> None:
        super().__init__(message)
        self.field = field


def digits_of(currency: str) -> int:
    """The currency's minor-unit digits (2 when babel does not know it)."""
    try:
        return int(get_currency_precision(currency.upper()))
    except (KeyError, ValueError, AttributeError):
        return 2


def to_minor(amount: Decimal, digits: int) -> int:
    """``amount`` in minor units, rounded half up."""
    return int((amount.scaleb(digits)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor(minor: int, digits: int) -> Decimal:
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def exact_minor(amount: Decimal, digits: int, name: str = "amount") -> int:
    """``amount`` in minor units when it has no more digits than the currency; else refused."""
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise PartError(
            f"The part's {name} {amount} has more decimals than the currency's {digits}.",
            field=f"part.{name}",
        )
    return int(scaled)


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers (exact for any size)."""
    assert denominator > 0
    quotient, rest = divmod(abs(numerator), denominator)
    if 2 * rest >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def parse_amount(value: Decimal | str | int | float, locale: str, name: str) -> Decimal:
    """A part's number as the user wrote it: a JSON number as is, text in the user's locale
    (``1.500,50`` in de_DE), strictly: a malformed or ambiguous one is refused naming it."""
    if isinstance(value, (Decimal, int)):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    else:
        text = value.strip()
        try:
            number = parse_decimal(text, locale=locale, strict=True)
        except (NumberFormatError, InvalidOperation) as exc:
            raise PartError(f"The part's {name} “{text}” is not a number.", f"part.{name}") from exc
    if not number.is_finite():
        raise PartError(f"The part's {name} must be a number.", f"part.{name}")
    if abs(number) > MAX_NUMBER:
        raise PartError(f"The part's {name} is too large.", f"part.{name}")
    return number


def part_minor(
    kind: PartKind, value: Decimal | None, deal_minor: int, invoiced_minor: int, digits: int
) -> int:
    """How much the part invoices, in minor units (before any over-invoice check)."""
    if deal_minor <= 0:
        raise PartError("The deal's lines come to nothing: there is nothing to invoice in parts.")
    if kind == "balance":
        return deal_minor - invoiced_minor
    if value is None:
        raise PartError(f"Give the part's {kind}.", field=f"part.{kind}")
    if kind == "percent":
        if not Decimal(0) < value <= HUNDRED:
            raise PartError(
                f"The part's percentage must be above 0 and at most 100, not {value}.",
                field="part.percent",
            )
        # value x deal / 100 in exact integers: scale the percentage to an integer first.
        exponent = max(0, -int(value.as_tuple().exponent))
        scaled = int(value.scaleb(exponent))
        return half_up(deal_minor * scaled, 100 * 10**exponent)
    minor = exact_minor(value, digits)
    if minor <= 0:
        raise PartError("The part's amount must be above 0.", field="part.amount")
    return minor


def scale(amounts: Sequence[int], target: int) -> list[int]:
    """The lines' amounts (minor units) scaled so they add up to ``target`` exactly: each in
    proportion, rounded half up, the rounding remainder on the last line."""
    total = sum(amounts)
    if not amounts or total <= 0:
        raise PartError("The deal's lines come to nothing: there is nothing to invoice in parts.")
    shares = [half_up(amount * target, total) for amount in amounts[:-1]]
    return [*shares, target - sum(shares)]


@dataclass(frozen=True)
class PartPlan:
    """A resolved part: what it invoices, out of what, and how its lines are scaled."""

    label: str
    kind: PartKind
    identity: str
    digits: int
    deal_minor: int
    invoiced_minor: int
    part_minor: int
    shares: tuple[int, ...]

    @property
    def remaining_minor(self) -> int:
        return self.deal_minor - self.invoiced_minor

    @property
    def over_minor(self) -> int:
        """How far this part goes past what was left (0: within the deal)."""
        return max(0, self.part_minor - max(self.remaining_minor, 0))


def identity_of(kind: PartKind, value: Decimal | None, installment_id: int | None) -> str:
    """The part's identity in the intent key: a deposit and the balance are two intents, the
    same part clicked twice is one."""
    if installment_id is not None:
        return f"installment-{installment_id}"
    if kind == "balance" or value is None:
        return "balance"
    return f"{kind}-{format(value.normalize(), 'f')}"


def default_label(kind: PartKind, value: Decimal | None, currency: str) -> str:
    if kind == "percent" and value is not None:
        return f"Deposit {format(value.normalize(), 'f')} %"
    if kind == "amount" and value is not None:
        return f"Part payment {format(value, 'f')} {currency}"
    return "Balance"


def plan_part(
    *,
    kind: PartKind,
    value: Decimal | None,
    label: str,
    identity: str,
    currency: str,
    line_amounts: Sequence[Decimal],
    invoiced_minor: int,
) -> PartPlan:
    """The part of a deal whose (full) lines come to ``line_amounts``, after ``invoiced_minor``
    invoiced by earlier parts: its amount and each line's share."""
    digits = digits_of(currency)
    minors = [to_minor(amount, digits) for amount in line_amounts]
    deal = sum(minors)
    amount = part_minor(kind, value, deal, invoiced_minor, digits)
    if amount <= 0:
        raise PartError(
            "Nothing is left to invoice on this deal: its invoices already come to "
            f"{from_minor(invoiced_minor, digits)} {currency} of {from_minor(deal, digits)}.",
        )
    return PartPlan(
        label=label,
        kind=kind,
        identity=identity,
        digits=digits,
        deal_minor=deal,
        invoiced_minor=invoiced_minor,
        part_minor=amount,
        shares=tuple(scale(minors, amount)),
    )
