"""What the rules know of the connected organisation, and small text helpers they share."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.invoices.schemas import LineBase
from app.providers.base import Currency, Features, Organisation, TaxMode, TaxRate, Template

PROVIDER_LABEL = {"xero": "Xero", "quickbooks": "QuickBooks"}


@dataclass(frozen=True)
class ProviderMeta:
    """What the draft and the checks need to know about the connected organisation."""

    provider: str
    organisation: Organisation
    features: Features
    tax_rates: tuple[TaxRate, ...]
    currencies: tuple[Currency, ...]
    templates: tuple[Template, ...] = ()

    @property
    def label(self) -> str:
        return PROVIDER_LABEL[self.provider]

    def rate_of(self, code: str | None) -> TaxRate | None:
        return next((r for r in self.tax_rates if r.code == code), None) if code else None

    @property
    def automated_tax(self) -> bool:
        return self.features.automated_sales_tax


def fmt(amount: Decimal) -> str:
    """A number as people write it: 15, 2.5, 349.95."""
    text = format(amount.normalize(), "f")
    return text


def line_name(index: int, line: LineBase) -> str:
    return f"Line {index + 1} ({line.description.splitlines()[0][:60]})"


def features_json(features: Features) -> dict[str, object]:
    """The features as one JSON object, in the shape Pipedrive's Invoicing extension also
    takes (the JSON API's invoice draft carries it)."""
    return {
        "invoiceTaxModeOptions": {
            "taxExclusive": TaxMode.exclusive in features.tax_modes,
            "taxInclusive": TaxMode.inclusive in features.tax_modes,
            "noTax": TaxMode.no_tax in features.tax_modes,
        },
        "invoiceTaxOption": features.tax_option,
        "invoiceDiscountOptions": {
            "globalDiscount": features.global_discount,
            "lineDiscount": features.line_discount,
        },
        "invoiceNumberOption": features.invoice_number,
        "validations": {
            "product": {
                "name": {"maxLength": features.limits.item_name},
                "code": {"maxLength": features.limits.item_code},
                "description": {"maxLength": features.limits.item_description},
            }
        },
    }
