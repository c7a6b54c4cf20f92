"""The demo QuickBooks company (docs/demo-data.md, QuickBooks Online): ids and names fixed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.quickbooks.api import invoices, names, payments
from sandbox.quickbooks.clocktime import company_today, qbo_time
from sandbox.quickbooks.state import Books

if TYPE_CHECKING:
    from sandbox.app import Sandbox

REALM_ID = "9130350000000001"
COMPANY_NAME = "Northwind Traders US"


def realm_document(realm_id: str, name: str, created: str) -> dict[str, Any]:
    address = {
        "Id": "1",
        "Line1": "500 Harbor Blvd",
        "City": "San Francisco",
        "CountrySubDivisionCode": "CA",
        "PostalCode": "94105",
        "Country": "USA",
    }
    return {
        "realm_id": realm_id,
        "_currencies": ["USD", "EUR", "GBP", "NZD"],
        "_discount_account": {"value": "4", "name": "Discounts given"},
        "_users": [{"email": "nora@northwind.test", "name": "Nora Admin"}],
        "CompanyInfo": {
            "Id": realm_id,
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "CompanyName": name,
            "LegalName": f"{name} Inc.",
            "CompanyAddr": address,
            "LegalAddr": address,
            "CustomerCommunicationAddr": address,
            "CompanyEmailAddr": "billing@northwind.test",
            "Email": {"Address": "billing@northwind.test"},
            "WebAddr": {"URI": "https://northwind.test"},
            "PrimaryPhone": {"FreeFormNumber": "(415) 555-0100"},
            "Country": "US",
            "FiscalYearStartMonth": "January",
            "CompanyStartDate": "2024-01-01",
            "DefaultTimeZone": "America/Los_Angeles",
            "SupportedLanguages": "en",
            "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}],
            "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
        },
        "Preferences": preferences_document(created),
    }


def preferences_document(created: str) -> dict[str, Any]:
    """The company's Preferences: multicurrency on, discounts and deposits allowed, sales tax."""
    return {
        "Id": "1",
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "USD"}},
        "SalesFormsPrefs": {
            "CustomField": [],
            "CustomTxnNumbers": False,
            "AllowDeposit": True,
            "AllowDiscount": True,
            "DefaultDiscountAccount": "4",
            "AllowServiceDate": False,
            "AllowShipping": False,
            "DefaultTerms": {"value": "2"},
            "ETransactionEnabledStatus": "NotApplicable",
            "ETransactionPaymentEnabled": True,
            "IPNSupportEnabled": False,
            "AutoApplyCredit": True,
            "AutoApplyPayments": True,
            "UsingProgressInvoicing": False,
        },
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": True},
        "EmailMessagesPrefs": {
            "InvoiceMessage": {
                "Subject": "Invoice [Invoice No.] from Northwind Traders US",
                "Message": "Dear [Customer], your invoice is attached. Thank you!",
            }
        },
        "OtherPrefs": {"NameValue": []},
        "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
    }


ACCOUNTS = (
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Services", "Income", "ServiceFeeIncome"),
    ("Other Income", "Other Income", "OtherMiscellaneousIncome"),
    ("Discounts given", "Income", "DiscountsRefundsGiven"),
    ("Advertising", "Expense", "AdvertisingPromotional"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
)
CLASSIFICATION = {
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Expense": "Expense",
    "Accounts Receivable": "Asset",
}
# (name, sku, price, income account id, type)
ITEMS = (
    ("Consulting hour", "CONS-HR", 150, "2", "Service"),
    ("Implementation package", "IMPL-PKG", 2500, "2", "Service"),
    ("Annual licence", "LIC-ANN", 1200, "1", "NonInventory"),
    ("Support plan (monthly)", None, 99, "2", "Service"),
    ("Hours", None, 0, "2", "Service"),
    ("Services", None, 0, "2", "Service"),
    ("Discount", None, 0, None, "Discount"),
)
CUSTOMERS = (
    (
        "Globex Corporation",
        "USD",
        "gary@globex.test",
        {
            "Line1": "500 Market St",
            "City": "San Francisco",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94105",
            "Country": "USA",
        },
    ),
    (
        "Initech GmbH",
        "EUR",
        "ina@initech.test",
        {"Line1": "Hauptstrasse 5", "City": "Berlin", "PostalCode": "10115", "Country": "DEU"},
    ),
    (
        "Acme Ltd",
        "NZD",
        "accounts@acme.test",
        {"Line1": "12 Queen Street", "City": "Auckland", "PostalCode": "1010", "Country": "NZL"},
    ),
)


def seed_realm(sandbox: Sandbox, realm_id: str = REALM_ID, name: str = COMPANY_NAME) -> Books:
    """Create the company with its lists (no webhooks: nobody is connected yet)."""
    created = qbo_time(sandbox.clock.now())
    sandbox.store.put("qbo:realm", realm_id, realm_document(realm_id, name, created))
    books = Books(sandbox.store, sandbox.clock, realm_id, sandbox.settings.public_url)
    seed_settings(books)
    seed_names(books)
    return books


def seed_settings(books: Books) -> None:
    """Accounts, the sales tax rate and codes, and payment terms."""
    for acct_name, acct_type, sub_type in ACCOUNTS:
        books.insert(
            "Account",
            {
                "Name": acct_name,
                "FullyQualifiedName": acct_name,
                "Active": True,
                "SubAccount": False,
                "Classification": CLASSIFICATION[acct_type],
                "AccountType": acct_type,
                "AccountSubType": sub_type,
                "CurrentBalance": 0,
                "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
            },
        )
    rate = books.insert(
        "TaxRate",
        {"Name": "California State", "Active": True, "RateValue": 8.25, "SpecialTaxType": "NONE"},
    )
    books.insert(
        "TaxCode",
        {
            "Name": "TAX",
            "Description": "Taxable sales",
            "Active": True,
            "Taxable": True,
            "TaxGroup": False,
            "SalesTaxRateList": {
                "TaxRateDetail": [{"TaxRateRef": {"value": rate["Id"]}, "TaxOrder": 0}]
            },
        },
        entity_id="TAX",
    )
    books.insert(
        "TaxCode",
        {"Name": "NON", "Description": "Non-taxable sales", "Active": True, "Taxable": False},
        entity_id="NON",
    )
    for term_name, days in (("Net 15", 15), ("Net 30", 30), ("Due on receipt", 0)):
        books.insert(
            "Term", {"Name": term_name, "Active": True, "Type": "Standard", "DueDays": days}
        )


def seed_names(books: Books) -> None:
    """Items and customers, through the same rules as the API."""
    for item_name, sku, price, account, kind in ITEMS:
        body: dict[str, Any] = {"Name": item_name, "Type": kind, "UnitPrice": price}
        if sku:
            body["Sku"] = sku
        if account:
            body["IncomeAccountRef"] = {"value": account}
        names.create_item(books, body)
    for cust_name, currency, email, address in CUSTOMERS:
        names.create_customer(
            books,
            {
                "DisplayName": cust_name,
                "CompanyName": cust_name,
                "CurrencyRef": {"value": currency},
                "PrimaryEmailAddr": {"Address": email},
                "BillAddr": address,
            },
        )


# The `bench` set: company n (1, 2, ...) is realm 9130350000100000 + n, with the demo's lists.
BENCH_REALM_BASE = 9130350000100000


def seed_bench(sandbox: Sandbox, companies: int) -> dict[str, Any]:
    """``companies`` companies like the demo's, without its invoices; realms that exist are
    kept as they are."""
    realms = []
    with sandbox.store.transaction():
        for n in range(1, companies + 1):
            realm_id, name = str(BENCH_REALM_BASE + n), f"Bench Traders {n} US"
            if sandbox.store.get("qbo:realm", realm_id) is None:
                seed_realm(sandbox, realm_id, name)
            realms.append({"realm_id": realm_id, "company": name})
    return {"realms": realms}


def seed_demo(sandbox: Sandbox) -> dict[str, Any]:
    """The demo company plus four Globex invoices: open, partially paid, paid, overdue.

    Seeding twice is harmless: an existing demo company is kept as it is (a restarted demo
    keeps its state; `--reset` or `POST /_sandbox/reset` starts clean).
    """
    summary = {
        "realm_id": REALM_ID,
        "company": COMPANY_NAME,
        "invoices": {"open": "1", "partially_paid": "2", "paid": "3", "overdue": "4"},
    }
    if sandbox.store.get("qbo:realm", REALM_ID) is not None:
        return summary
    books = seed_realm(sandbox)
    today = company_today(sandbox.clock.now())

    def invoice(days_ago: int, lines: list[tuple[str, int, int]]) -> dict[str, Any]:
        return invoices.create(
            books,
            {
                "CustomerRef": {"value": "1"},
                "TxnDate": (today - timedelta(days=days_ago)).isoformat(),
                "SalesTermRef": {"value": "2"},
                "BillEmail": {"Address": "gary@globex.test"},
                "AllowOnlineCreditCardPayment": True,
                "Line": [
                    {
                        "Amount": qty * price,
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": item},
                            "Qty": qty,
                            "UnitPrice": price,
                            "TaxCodeRef": {"value": "TAX"},
                        },
                    }
                    for item, qty, price in lines
                ],
            },
        )

    open_one = invoice(3, [("3", 5, 1200)])
    partial = invoice(10, [("1", 10, 150), ("4", 12, 99)])
    paid = invoice(20, [("2", 1, 2500)])
    overdue = invoice(45, [("1", 4, 150)])
    payments.apply_payment(books, partial["Id"], Decimal("500"))
    payments.apply_payment(books, paid["Id"], Decimal(str(paid["TotalAmt"])))
    books.events.clear()
    ids = {
        "open": open_one["Id"],
        "partially_paid": partial["Id"],
        "paid": paid["Id"],
        "overdue": overdue["Id"],
    }
    return dict(summary, invoices=ids)
