"""The demo world's Xero side (docs/demo-data.md, "Xero"): two organisations reachable by one
consent, their users, tax rates, accounts, branding themes, items, contacts and invoices.

Tenant ids and short codes are the documented ones; every other id is derived from a stable
name (uuid5), so it is the same after every reset.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sandbox.store import Store
from sandbox.xero.api.invoice_write import index_number, save_invoice
from sandbox.xero.api.payments import apply_payment
from sandbox.xero.state import XeroState, stable_id

NZ = "b1f3c0de-0000-4000-8000-000000000001"
AU = "b1f3c0de-0000-4000-8000-000000000002"

ORGS: list[dict[str, Any]] = [
    {
        "OrganisationID": NZ,
        "Name": "Northwind Traders NZ",
        "LegalName": "Northwind Traders NZ Limited",
        "BaseCurrency": "NZD",
        "CountryCode": "NZ",
        "Version": "NZ",
        "ShortCode": "!NwT01",
        "Timezone": "NEWZEALANDSTANDARDTIME",
        "_zone": "Pacific/Auckland",
        "_sales_tax_type": "OUTPUT2",
        "SalesTaxPeriod": "TWOMONTHS",
        "TaxNumber": "123-456-789",
        "Addresses": [
            {
                "AddressType": "STREET",
                "AddressLine1": "1 Customs Street",
                "City": "Auckland",
                "PostalCode": "1010",
                "Country": "New Zealand",
            }
        ],
    },
    {
        "OrganisationID": AU,
        "Name": "Northwind Demo AU",
        "LegalName": "Northwind Demo Pty Ltd",
        "BaseCurrency": "AUD",
        "CountryCode": "AU",
        "Version": "AU",
        "ShortCode": "!NwD02",
        "Timezone": "AUSEASTERNSTANDARDTIME",
        "_zone": "Australia/Sydney",
        "_sales_tax_type": "OUTPUT",
        "SalesTaxPeriod": "QUARTERLY1",
        "TaxNumber": "12 345 678 901",
        "Addresses": [
            {
                "AddressType": "STREET",
                "AddressLine1": "1 George Street",
                "City": "Sydney",
                "Region": "NSW",
                "PostalCode": "2000",
                "Country": "Australia",
            }
        ],
    },
]
# (email, first, last, roles by tenant, subscriber)
USERS = [
    ("nora@northwind.test", "Nora", "Admin", {NZ: "STANDARD", AU: "STANDARD"}, True),
    (
        "fiona@northwind.test",
        "Fiona",
        "Adviser",
        {NZ: "FINANCIALADVISER", AU: "FINANCIALADVISER"},
        False,
    ),
    ("ivan@northwind.test", "Ivan", "Invoice", {NZ: "INVOICEONLY", AU: "INVOICEONLY"}, False),
    ("rob@northwind.test", "Rob", "Reader", {NZ: "READONLY", AU: "READONLY"}, False),
    ("colin@contoso.test", "Colin", "Admin", {AU: "STANDARD"}, False),
]
CURRENCIES = {
    NZ: [
        ("NZD", "New Zealand Dollar", "1"),
        ("USD", "United States Dollar", "0.5900"),
        ("EUR", "Euro", "0.5400"),
    ],
    AU: [("AUD", "Australian Dollar", "1")],
}
# (TaxType, Name, rate, revenue, expenses, report type)
TAX_RATES = {
    NZ: [
        ("OUTPUT2", "15% GST on Income", "15", True, False, "OUTPUT"),
        ("NONE", "No GST", "0", True, True, "NONE"),
        ("ZERORATEDOUTPUT", "Zero Rated", "0", True, False, "EXEMPTOUTPUT"),
        ("INPUT2", "15% GST on Expenses", "15", False, True, "INPUT"),
    ],
    AU: [
        ("OUTPUT", "GST on Income", "10", True, False, "OUTPUT"),
        ("EXEMPTOUTPUT", "GST Free Income", "0", True, False, "EXEMPTOUTPUT"),
        ("BASEXCLUDED", "BAS Excluded", "0", True, True, "BASEXCLUDED"),
        ("INPUT", "GST on Expenses", "10", False, True, "INPUT"),
    ],
}
# (Code, Name, Type, Class, TaxType)
ACCOUNTS = {
    NZ: [
        ("200", "Sales", "REVENUE", "REVENUE", "OUTPUT2"),
        ("260", "Other Revenue", "OTHERINCOME", "REVENUE", "OUTPUT2"),
        ("400", "Advertising", "EXPENSE", "EXPENSE", "INPUT2"),
    ],
    AU: [
        ("200", "Sales", "REVENUE", "REVENUE", "OUTPUT"),
        ("400", "Advertising", "EXPENSE", "EXPENSE", "INPUT"),
    ],
}
THEMES = {NZ: ["Standard", "Special Projects"], AU: ["Standard"]}
ITEMS = [
    ("CONS-HR", "Consulting hour", "150.00"),
    ("IMPL-PKG", "Implementation package", "2500.00"),
    ("LIC-ANN", "Annual licence", "1200.00"),
    ("TRAIN-DAY", "Training day", "900.00"),
    ("SUP-MONTHLY", "Support plan (monthly)", "99.00"),
]


def seed(state: XeroState) -> dict[str, Any]:
    """Load the demo world (idempotent over a reset store). Raises no webhooks."""
    store = state.store
    summary = {"tenants": [NZ, AU], "users": [u[0] for u in USERS]}
    if store.get("xero:org", NZ) is not None:
        # Already seeded (a restart with --seed and without --reset): keep what is there.
        return dict(summary, already_seeded=True)
    batcher, state.batcher = state.batcher, None
    try:
        created = state.now_ms()
        for org in ORGS:
            tenant = org["OrganisationID"]
            seed_organisation(store, org, created)
            for settings in (seed_currencies, seed_tax_rates, seed_accounts, seed_themes):
                settings(store, tenant, created)
        seed_users(store, created)
        seed_items(store, NZ, created)
        seed_contacts(store, NZ, created)
        seed_invoices(state)
    finally:
        state.batcher = batcher
    return summary


def seed_organisation(store: Store, org: dict[str, Any], created: int) -> None:
    store.put(
        "xero:org",
        org["OrganisationID"],
        dict(
            org,
            APIKey="",
            PaysTax=True,
            OrganisationType="COMPANY",
            IsDemoCompany=False,
            OrganisationStatus="ACTIVE",
            FinancialYearEndDay=31,
            FinancialYearEndMonth=3,
            SalesTaxBasis="INVOICE",
            DefaultSalesTax="Tax Exclusive",
            DefaultPurchasesTax="Tax Exclusive",
            CreatedDateUTC=created,
            OrganisationEntityType="COMPANY",
            Class="STANDARD",
            Edition="BUSINESS",
            LineOfBusiness="Software consulting",
            Phones=[],
            ExternalLinks=[],
            PaymentTerms={"Sales": {"Day": 20, "Type": "OFFOLLOWINGMONTH"}},
        ),
    )


def seed_currencies(store: Store, tenant: str, created: int) -> None:
    for code, name, rate in CURRENCIES[tenant]:
        store.put(
            "xero:currency",
            f"{tenant}:{code}",
            {"Code": code, "Description": name, "_rate": rate, "_tenant": tenant},
            scope=tenant,
        )


def seed_tax_rates(store: Store, tenant: str, created: int) -> None:
    for tax_type, name, rate, revenue, expenses, report in TAX_RATES[tenant]:
        store.put(
            "xero:taxrate",
            f"{tenant}:{tax_type}",
            {
                "Name": name,
                "TaxType": tax_type,
                "ReportTaxType": report,
                "Status": "ACTIVE",
                "TaxComponents": [
                    {
                        "Name": "GST",
                        "Rate": rate,
                        "IsCompound": False,
                        "IsNonRecoverable": False,
                    }
                ],
                "CanApplyToAssets": expenses,
                "CanApplyToEquity": expenses,
                "CanApplyToExpenses": expenses,
                "CanApplyToLiabilities": expenses,
                "CanApplyToRevenue": revenue,
                "DisplayTaxRate": rate,
                "EffectiveRate": rate,
                "_tenant": tenant,
            },
            scope=tenant,
        )


def seed_accounts(store: Store, tenant: str, created: int) -> None:
    for code, name, kind, klass, tax_type in ACCOUNTS[tenant]:
        account_id = stable_id(f"{tenant}:account:{code}")
        store.put(
            "xero:account",
            account_id,
            {
                "AccountID": account_id,
                "Code": code,
                "Name": name,
                "Type": kind,
                "Status": "ACTIVE",
                "Class": klass,
                "TaxType": tax_type,
                "EnablePaymentsToAccount": False,
                "ShowInExpenseClaims": False,
                "ReportingCode": "REV" if klass == "REVENUE" else "EXP",
                "HasAttachments": False,
                "UpdatedDateUTC": created,
                "_tenant": tenant,
            },
            scope=tenant,
        )


def seed_themes(store: Store, tenant: str, created: int) -> None:
    for order, name in enumerate(THEMES[tenant]):
        theme_id = stable_id(f"{tenant}:theme:{name}")
        store.put(
            "xero:theme",
            theme_id,
            {
                "BrandingThemeID": theme_id,
                "Name": name,
                "Type": "INVOICE",
                "SortOrder": order,
                "CreatedDateUTC": created,
                "_tenant": tenant,
            },
            scope=tenant,
        )


def seed_users(store: Store, created: int) -> None:
    """Users reach organisations through their roles; not scoped to one tenant."""
    for email, first, last, roles, subscriber in USERS:
        user_id = stable_id(f"user:{email}")
        store.put(
            "xero:user",
            user_id,
            {
                "UserID": user_id,
                "EmailAddress": email,
                "FirstName": first,
                "LastName": last,
                "UpdatedDateUTC": created,
                "IsSubscriber": subscriber,
                "roles": roles,
                "_sub": stable_id(f"sub:{email}").replace("-", ""),
            },
        )


def seed_items(store: Store, tenant: str, created: int) -> None:
    for code, name, price in ITEMS:
        item_id = stable_id(f"{tenant}:item:{code}")
        store.put(
            "xero:item",
            item_id,
            {
                "ItemID": item_id,
                "Code": code,
                "Name": name,
                "Description": name,
                "IsSold": True,
                "IsPurchased": False,
                "IsTrackedAsInventory": False,
                "SalesDetails": {
                    "UnitPrice": price,
                    "AccountCode": "200",
                    "TaxType": "OUTPUT2",
                },
                "PurchaseDetails": {},
                "UpdatedDateUTC": created,
                "_tenant": tenant,
            },
            scope=tenant,
        )


def seed_contacts(store: Store, tenant: str, created: int) -> None:
    contacts: dict[str, dict[str, Any]] = {
        "Acme Ltd": {
            "EmailAddress": "accounts@acme.test",
            "Addresses": [
                {
                    "AddressType": "STREET",
                    "AddressLine1": "12 Queen Street",
                    "City": "Auckland",
                    "PostalCode": "1010",
                    "Country": "New Zealand",
                }
            ],
        },
        "Globex Corporation": {"DefaultCurrency": "USD"},
        "Soylent Corp": {},
    }
    for name, extra in contacts.items():
        contact_id = stable_id(f"{tenant}:contact:{name}")
        store.put(
            "xero:contact",
            contact_id,
            {
                "ContactID": contact_id,
                "ContactStatus": "ACTIVE",
                "Name": name,
                "Addresses": [],
                "Phones": [],
                "ContactPersons": [],
                "IsSupplier": False,
                "IsCustomer": name == "Acme Ltd",
                "HasAttachments": False,
                "HasValidationErrors": False,
                "UpdatedDateUTC": created,
                "_tenant": tenant,
                **extra,
            },
            scope=tenant,
        )


def seed_invoices(state: XeroState) -> None:
    acme = stable_id(f"{NZ}:contact:Acme Ltd")
    today = state.now().date()
    plans = [
        ("DRAFT", "CONS-HR", 2, None),
        ("AUTHORISED", "IMPL-PKG", 1, None),
        ("AUTHORISED", "LIC-ANN", 1, "PAID"),
        ("AUTHORISED", "TRAIN-DAY", 1, "VOIDED"),
    ]
    for index, (status, code, qty, then) in enumerate(plans, start=1):
        entity = {
            "Type": "ACCREC",
            "Contact": {"ContactID": acme},
            "Status": status,
            "Date": (today - timedelta(days=30 - index)).isoformat(),
            "DueDate": (today + timedelta(days=index)).isoformat(),
            "Reference": f"Demo {index}",
            "LineAmountTypes": "Exclusive",
            "LineItems": [
                {"ItemCode": code, "Quantity": qty, "AccountCode": "200", "TaxType": "OUTPUT2"}
            ],
        }
        doc, errors = save_invoice(state, NZ, entity, None, 2)
        assert not errors, errors
        # Stable ids: re-key the document under its derived id.
        state.store.delete("xero:invoice", doc["InvoiceID"])
        doc["InvoiceID"] = stable_id(f"{NZ}:invoice:{index}")
        state.store.put("xero:invoice", doc["InvoiceID"], doc, scope=NZ)
        index_number(state, NZ, doc)
        if then == "PAID":
            apply_payment(state, doc, Decimal(doc["AmountDue"]), today.isoformat())
        elif then == "VOIDED":
            _voided, errors = save_invoice(state, NZ, {"Status": "VOIDED"}, doc, 2)
            assert not errors, errors
