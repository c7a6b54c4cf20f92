"""Pure rules of the draft: tax codes, discount forms, deal-discount split, contact diffs,
contact terms and the zero/negative total checks."""

from __future__ import annotations

from decimal import Decimal

from app.crm.pipedrive.schemas import Deal, DealData, DealDiscount, DealProduct
from app.invoices.rules.checks import CheckInput, run_checks
from app.invoices.rules.contacts import contact_diff
from app.invoices.rules.dates import contact_terms
from app.invoices.rules.lines import discount_lines, product_line, tax_code_for
from app.invoices.rules.meta import ProviderMeta
from app.invoices.rules.totals import compute_totals
from app.invoices.schemas import DraftLine, TotalsOut
from app.preferences.due_dates import DueRule, Terms
from app.providers.base import (
    Address,
    Contact,
    Currency,
    Organisation,
    PaymentTerms,
    TaxMode,
    TaxRate,
)
from app.providers.quickbooks.spec import features as qbo_features
from app.providers.xero.spec import FEATURES as XERO_FEATURES

D = Decimal
XERO = ProviderMeta(
    provider="xero",
    organisation=Organisation(id="t", name="NZ", base_currency="NZD"),
    features=XERO_FEATURES,
    tax_rates=(
        TaxRate(code="OUTPUT2", name="15% GST on Income", rate=D("15")),
        TaxRate(code="NONE", name="No GST", rate=D("0")),
        TaxRate(code="ZERORATEDOUTPUT", name="Zero Rated", rate=D("0")),
        TaxRate(
            code="INPUT2", name="15% GST on Expenses", rate=D("15"), can_apply_to_revenue=False
        ),
    ),
    currencies=(Currency(code="NZD", name="NZD", is_base=True),),
)
QBO = ProviderMeta(
    provider="quickbooks",
    organisation=Organisation(id="r", name="US", base_currency="USD"),
    features=qbo_features(
        us_sales_tax=False, allow_discount=True, custom_numbers=False, multi_currency=True
    ),
    tax_rates=(TaxRate(code="8", name="VAT", rate=D("10")),),
    currencies=(Currency(code="USD", name="USD", is_base=True),),
)


def product(**over):
    base = {"id": 1, "product_id": 1, "name": "Widget", "item_price": D("10"), "quantity": D("3")}
    base.update(over)
    return DealProduct(**base)


def test_tax_code_is_an_exact_revenue_rate_the_default_first():
    assert tax_code_for(XERO, D("15"), TaxMode.exclusive, None) == "OUTPUT2"
    assert tax_code_for(XERO, D("0"), TaxMode.exclusive, "ZERORATEDOUTPUT") == "ZERORATEDOUTPUT"
    assert tax_code_for(XERO, D("0"), TaxMode.exclusive, None) == "NONE"
    assert tax_code_for(XERO, D("19"), TaxMode.exclusive, None) is None
    assert tax_code_for(XERO, D("15"), TaxMode.no_tax, None) is None


def test_quickbooks_folds_a_line_discount_into_the_price_or_the_amount():
    exact = product_line(
        QBO,
        product(discount=D("10"), discount_type="percentage"),
        None,
        TaxMode.exclusive,
        "8",
        None,
    )
    assert exact.unit_price == D("9") and exact.quantity == D("3")
    assert exact.discount_rate is None and "unit price" in (exact.note or "")
    uneven = product_line(
        QBO, product(discount=D("1"), discount_type="amount"), None, TaxMode.exclusive, "8", None
    )
    # 3 x 10 - 1 = 29 is not 3 x a price in cents: 1 x 29, said in the description.
    assert (uneven.quantity, uneven.unit_price) == (D("1"), D("29.00"))
    assert "3 x 10" in uneven.description
    xero = product_line(
        XERO,
        product(discount=D("1"), discount_type="amount"),
        None,
        TaxMode.exclusive,
        "OUTPUT2",
        None,
    )
    assert xero.discount_amount == D("1") and xero.unit_price == D("10")


def test_xero_deal_discount_is_split_per_tax_code_in_proportion():
    lines = [
        DraftLine(description="A", quantity=D("3"), unit_price=D("900"), tax_code="OUTPUT2"),
        DraftLine(description="B", quantity=D("2"), unit_price=D("349.95"), tax_code="NONE"),
    ]
    data = DealData(
        deal=Deal(id=1), discounts=[DealDiscount(id="1", type="amount", amount=D("100"))]
    )
    out = discount_lines(XERO, data, lines, TaxMode.exclusive)
    assert [(x.tax_code, x.unit_price) for x in out] == [
        ("OUTPUT2", D("-79.41")),
        ("NONE", D("-20.59")),
    ]
    totals, _ = compute_totals(XERO, [*lines, *out], TaxMode.exclusive, None)
    assert totals.subtotal == D("3299.90")
    assert totals.tax == D("393.09")  # 15 % of (2700 - 79.41), rounded per line


def test_contact_diff_only_where_the_crm_has_a_different_value():
    contact = Contact(
        id="c",
        name="Acme",
        email="a@acme.test",
        tax_number=None,
        address=Address(lines=("12 Queen Street",), city="Auckland"),
    )
    changes = contact_diff(contact, "A@ACME.test", "12 Queen Street, Auckland", "NZ-1")
    assert [c.field for c in changes] == ["tax_id"]
    assert contact_diff(contact, None, None, None) == []


def test_contact_terms_from_the_provider():
    assert contact_terms(PaymentTerms(day=20, type="OFFOLLOWINGMONTH")) == Terms(
        DueRule.day_of_following_month, 20
    )
    assert contact_terms(PaymentTerms(term_id="2", name="Net 30")) == Terms(
        DueRule.days_after_invoice, 30
    )
    assert contact_terms(PaymentTerms(term_id="3", name="Due on receipt")) == Terms(
        DueRule.days_after_invoice, 0
    )
    assert contact_terms(None) is None


def test_totals_checks_zero_needs_confirmation_and_negative_is_refused():
    line = DraftLine(
        description="Free", quantity=D("1"), unit_price=D("0"), tax_code="OUTPUT2", item_code="X"
    )

    def check(total, confirm=False):
        return {
            c.code: c.severity
            for c in run_checks(
                XERO,
                CheckInput(
                    currency="NZD",
                    tax_mode=TaxMode.exclusive,
                    tax_code=None,
                    lines=[line],
                    totals=TotalsOut(subtotal=total, tax=D("0"), total=total),
                    contact_id="c",
                    creating_contact=False,
                    contact_name="Acme",
                    contact_currency=None,
                    confirm_zero=confirm,
                ),
            )
        }

    assert check(D("0")) == {"zero_total": "confirm"}
    assert check(D("0"), confirm=True) == {}
    assert check(D("-1"))["negative_total"] == "error"


def test_suggestions_are_unique_code_then_unique_exact_name_and_nothing_fuzzier():
    from app.crm.pipedrive.schemas import Product
    from app.invoices.rules.items import candidates, choice_suggestions
    from app.providers.base import Item

    items = [
        Item(id="1", name="Consulting hour", code="CONS-HR"),
        Item(id="2", name="Support plan (monthly)", code="SUP-MONTHLY"),
        Item(id="3", name="Widget", code="W-1"),
        Item(id="4", name="Widget", code="W-2"),
        Item(id="5", name="Consulting hours", code="CONS-HRS"),
    ]
    assert [i.id for i in choice_suggestions(Product(id=1, name="x", code="cons-hr"), items)] == [
        "1"
    ]
    support = Product(id=5, name="Support plan (monthly)", code="SUP-MON")
    assert [i.id for i in choice_suggestions(support, items)] == ["2"]
    widget = Product(id=9, name="Widget", code=None)
    assert choice_suggestions(widget, items) == []  # two exact names: no guess
    assert [i.id for i in candidates(widget, items)] == ["3", "4"]  # offered, not chosen
    assert choice_suggestions(Product(id=8, name="Consulting", code="CONS"), items) == []
