"""The demo world's Pipedrive tables (docs/demo-data.md, section Pipedrive); ids are fixed."""

from __future__ import annotations

from typing import Any

# fmt: off
# (id, name, domain, default currency, timezone, country, locale, users)
COMPANIES: list[tuple[int, str, str, str, str, str, str, list[tuple[int, str, str, bool]]]] = [
    (
        7001,
        "Northwind Traders",
        "northwind",
        "NZD",
        "Pacific/Auckland",
        "NZ",
        "en_NZ",
        [
            (101, "Nora Admin", "nora@northwind.test", True),
            (102, "Sam Sales", "sam@northwind.test", False),
        ],
    ),
    (
        7002,
        "Contoso Pty",
        "contoso",
        "AUD",
        "Australia/Sydney",
        "AU",
        "en_AU",
        [
            (201, "Colin Admin", "colin@contoso.test", True),
            (202, "Rita Rep", "rita@contoso.test", False),
        ],
    ),
]

# (id, name, code, price, tax %, unit)
PRODUCTS = [
    (1, "Consulting hour", "CONS-HR", "150.00", 15, "hour"),
    (2, "Implementation package", "IMPL-PKG", "2500.00", 15, "package"),
    (3, "Annual licence", "LIC-ANN", "1200.00", 15, "licence"),
    (4, "Training day", "TRAIN-DAY", "900.00", 15, "day"),
    (5, "Support plan (monthly)", "SUP-MON", "99.00", 15, "month"),
    (6, "Hardware kit", "HW-KIT", "349.95", 15, "kit"),
]
PRICE_CURRENCIES = ("NZD", "USD", "EUR", "AUD")


def _address(
    value: str,
    number_: str,
    route: str,
    locality: str,
    area1: str,
    area2: str | None,
    country: str,
    postal: str,
) -> dict[str, Any]:
    return {
        "value": value,
        "street_number": number_,
        "route": route,
        "sublocality": None,
        "locality": locality,
        "admin_area_level_1": area1,
        "admin_area_level_2": area2,
        "country": country,
        "postal_code": postal,
        "formatted_address": value,
    }


# (id, name, address, VAT number, billing email, segment)
ORGANIZATIONS: list[tuple[int, str, dict[str, Any] | None, str | None, str | None, str | None]] = [
    (
        11,
        "Acme Ltd",
        _address(
            "12 Queen Street, Auckland 1010, New Zealand",
            "12",
            "Queen Street",
            "Auckland",
            "Auckland",
            None,
            "New Zealand",
            "1010",
        ),
        "NZ-123-456-789",
        "accounts@acme.test",
        "SMB",
    ),
    (
        12,
        "Globex Corporation",
        _address(
            "500 Market St, San Francisco, CA 94105, USA",
            "500",
            "Market St",
            "San Francisco",
            "California",
            "San Francisco County",
            "United States",
            "94105",
        ),
        "US-98-7654321",
        None,
        "Enterprise",
    ),
    (
        13,
        "Initech GmbH",
        _address(
            "Hauptstrasse 5, 10115 Berlin, Germany",
            "5",
            "Hauptstrasse",
            "Berlin",
            "Berlin",
            None,
            "Germany",
            "10115",
        ),
        "DE123456789",
        None,
        "SMB",
    ),
    (14, "Umbrella Pty", None, None, None, None),
]

# (id, first, last, org id, emails [(value, primary, label)], phone, job title)
PERSONS: list[tuple[int, str, str, int, list[tuple[str, bool, str]], str | None, str | None]] = [
    (
        21,
        "Alice",
        "Buyer",
        11,
        [("alice@acme.test", True, "work"), ("accounts@acme.test", False, "other")],
        "+64 9 555 0101",
        "Head of Purchasing",
    ),
    (22, "Gary", "Globex", 12, [("gary@globex.test", True, "work")], None, "CFO"),
    (23, "Ina", "Tech", 13, [("ina@initech.test", True, "work")], None, None),
]

# Lines: (product id, quantity, discount, discount type, tax override or None)
Line = tuple[int, int, int, str, int | None]
# (id, title, currency, org, person, owner is the rep?, tax method, lines, deal discounts
#  [(type, amount, description)], manual value, PO number, deleted)
DEALS: list[
    tuple[
        int,
        str,
        str,
        int | None,
        int | None,
        bool,
        str,
        list[Line],
        list[tuple[str, int, str]],
        int,
        str | None,
        bool,
    ]
] = [
    (
        31,
        "Acme rollout",
        "NZD",
        11,
        21,
        True,
        "exclusive",
        [
            (1, 10, 10, "percentage", None),
            (2, 1, 200, "amount", None),
            (3, 2, 0, "percentage", None),
        ],
        [],
        0,
        "PO-4471",
        False,
    ),
    (
        32,
        "Globex licences",
        "USD",
        12,
        22,
        False,
        "inclusive",
        [(3, 5, 0, "percentage", None), (5, 12, 0, "percentage", None)],
        [("percentage", 5, "Volume discount")],
        0,
        "GX-2026-118",
        False,
    ),
    (
        33,
        "Initech training",
        "EUR",
        13,
        23,
        True,
        "exclusive",
        [(4, 3, 0, "percentage", 19), (6, 2, 0, "percentage", 0)],
        [("amount", 100, "Loyalty discount")],
        0,
        None,
        False,
    ),
    (34, "Umbrella advisory", "NZD", 14, None, False, "exclusive", [], [], 4000, None, False),
    (
        35,
        "Walk-in sale",
        "NZD",
        None,
        None,
        True,
        "none",
        [(1, 1, 0, "percentage", 0)],
        [],
        0,
        None,
        False,
    ),
    (
        36,
        "Old deal (deleted)",
        "NZD",
        11,
        21,
        False,
        "exclusive",
        [(1, 1, 0, "percentage", None)],
        [],
        0,
        None,
        True,
    ),
]
# fmt: on
