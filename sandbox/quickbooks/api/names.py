"""Customers and items: the name lists with unique names (quickbooks.md §9)."""

from __future__ import annotations

from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.rules import cents, dec
from sandbox.quickbooks.state import Books, check_sync_token, ref_value

CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "NZD": "New Zealand Dollar",
    "AUD": "Australian Dollar",
    "CAD": "Canadian Dollar",
}
ITEM_TYPES = (
    "Service",
    "Inventory",
    "NonInventory",
    "Group",
    "Category",
    "Bundle",
    "Other Charge",
    "Payment",
    "Discount",
    "Subtotal",
    "Tax",
    "Tax Group",
    "Assembly",
    "Fixed Asset",
)
NEEDS_INCOME_ACCOUNT = ("Service", "NonInventory", "Inventory", "Other Charge")
INCOME_TYPES = ("Income", "Other Income")


def currency_prefs(books: Books) -> tuple[str, bool, list[str]]:
    realm = books.realm_doc() or {}
    prefs = realm.get("Preferences", {}).get("CurrencyPrefs", {})
    home = prefs.get("HomeCurrency", {}).get("value", "USD")
    return home, bool(prefs.get("MultiCurrencyEnabled")), realm.get("_currencies", [home])


def check_currency(books: Books, code: str, element: str) -> dict[str, str]:
    """A currency the company may use: the home one, or an enabled one with multi-currency on."""
    home, multi, enabled = currency_prefs(books)
    if code == home:
        return {"value": code, "name": CURRENCY_NAMES.get(code, code)}
    if not multi:
        # The exact real message is UNCONFIRMED (quickbooks.md §9: multicurrency can only be
        # turned on in the UI); this wording is ours.
        raise errors.business(
            "6000",
            f"Multicurrency is not enabled for this company: only the home currency ({home}) "
            f"can be used, not {code}.",
            element,
        )
    if code not in enabled:
        raise errors.invalid_reference("Currency", code, element)
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def _same_name(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _display_name(body: dict[str, Any]) -> str:
    name = body.get("DisplayName")
    if name:
        return str(name).strip()
    parts = [body.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
    generated = " ".join(str(p).strip() for p in parts if p)
    if not generated and body.get("CompanyName"):
        generated = str(body["CompanyName"]).strip()
    if not generated:
        raise errors.business("6080", "No Name Provided: supply a DisplayName or a name part.")
    return generated


def _unique_name(books: Books, name: str, own_id: str | None) -> None:
    if ":" in name:
        raise errors.invalid_property("DisplayName cannot contain ':'", "DisplayName")
    for other in books.all("Customer"):
        if other["Id"] != own_id and _same_name(other.get("DisplayName", ""), name):
            raise errors.duplicate_name(other["Id"])


def has_transactions(books: Books, customer_id: str) -> bool:
    return any(ref_value(i.get("CustomerRef")) == customer_id for i in books.all("Invoice"))


def customer_view(books: Books, doc: dict[str, Any]) -> dict[str, Any]:
    """The customer as read: Balance is the open balance of its invoices."""
    open_balance = sum(
        (
            dec(i.get("Balance", 0))
            for i in books.all("Invoice")
            if ref_value(i.get("CustomerRef")) == doc["Id"]
        ),
        dec(0),
    )
    out = dict(doc, Balance=float(cents(open_balance)), BalanceWithJobs=float(cents(open_balance)))
    return out


def create_customer(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    name = _display_name(body)
    _unique_name(books, name, None)
    home, _, _ = currency_prefs(books)
    currency = ref_value(body.get("CurrencyRef")) or home
    doc = {k: v for k, v in body.items() if k not in ("Id", "SyncToken", "MetaData", "sparse")}
    doc.update(
        DisplayName=name,
        FullyQualifiedName=name,
        PrintOnCheckName=body.get("PrintOnCheckName") or name,
        Active=body.get("Active", True),
        Job=False,
        BillWithParent=False,
        Taxable=body.get("Taxable", False),
        PreferredDeliveryMethod=body.get("PreferredDeliveryMethod", "Print"),
        CurrencyRef=check_currency(books, currency, "CurrencyRef"),
    )
    return books.insert("Customer", doc)


def update_customer(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    """Sparse (`"sparse": true`) or full update; DisplayName stays unique, currency fixed."""
    if not body.get("Id"):
        raise errors.required("Id")
    doc = books.require("Customer", str(body["Id"]))
    check_sync_token(doc, body)
    changes = {k: v for k, v in body.items() if k not in ("Id", "SyncToken", "MetaData", "sparse")}
    if body.get("sparse"):
        updated = dict(doc, **changes)
    else:
        keep = ("Id", "SyncToken", "MetaData", "domain", "sparse", "CurrencyRef")
        updated = {k: v for k, v in doc.items() if k in keep or k.startswith("_")}
        updated.update(changes)
    if "DisplayName" in changes or not body.get("sparse"):
        updated["DisplayName"] = _display_name(updated)
        _unique_name(books, updated["DisplayName"], doc["Id"])
        updated["FullyQualifiedName"] = updated["DisplayName"]
    new_currency = ref_value(changes.get("CurrencyRef")) or doc["CurrencyRef"]["value"]
    if new_currency != doc["CurrencyRef"]["value"]:
        if has_transactions(books, doc["Id"]):
            # quickbooks.md §9: one currency per customer, fixed once it has transactions.
            # The real message is UNCONFIRMED; this wording is ours.
            raise errors.business(
                "6000",
                "You can't change the currency of a customer that has transactions.",
                "CurrencyRef",
            )
        updated["CurrencyRef"] = check_currency(books, new_currency, "CurrencyRef")
    else:
        updated["CurrencyRef"] = doc["CurrencyRef"]
    return books.save("Customer", updated)


def _check_item(books: Books, item: dict[str, Any], own_id: str | None) -> None:
    if not item.get("Name"):
        raise errors.required("Name")
    if item.get("Type") not in ITEM_TYPES:
        raise errors.QboFault(
            400,
            "2170",
            "Invalid Enumeration",
            f"Invalid Enumeration : {item.get('Type')}",
            element="Type",
        )
    for other in books.all("Item"):
        if other["Id"] != own_id and _same_name(other.get("Name", ""), item["Name"]):
            raise errors.duplicate_name(other["Id"])
    if item["Type"] in NEEDS_INCOME_ACCOUNT:
        account_id = ref_value(item.get("IncomeAccountRef"))
        if not account_id:
            raise errors.required("IncomeAccountRef")
        account = books.get("Account", account_id)
        if account is None:
            raise errors.invalid_reference("Account", account_id, "IncomeAccountRef")
        if account.get("AccountType") not in INCOME_TYPES:
            raise errors.business(
                "6430",
                "Invalid account type: You need to select a different type of account for "
                "this transaction. Use an income account for IncomeAccountRef.",
                "IncomeAccountRef",
            )
        item["IncomeAccountRef"] = {"value": account_id, "name": account["Name"]}


def create_item(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in body.items() if k not in ("Id", "SyncToken", "MetaData", "sparse")}
    item.setdefault("Type", "Service")
    item.setdefault("Active", True)
    item.setdefault("Taxable", False)
    item.setdefault("UnitPrice", 0)
    _check_item(books, item, None)
    item["FullyQualifiedName"] = item["Name"]
    return books.insert("Item", item)


def update_item(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    if not body.get("Id"):
        raise errors.required("Id")
    doc = books.require("Item", str(body["Id"]))
    check_sync_token(doc, body)
    changes = {k: v for k, v in body.items() if k not in ("Id", "SyncToken", "MetaData", "sparse")}
    if body.get("sparse"):
        updated = dict(doc, **changes)
    else:
        keep = ("Id", "SyncToken", "MetaData", "domain", "sparse")
        updated = {k: v for k, v in doc.items() if k in keep}
        updated.update(changes)
        updated.setdefault("Type", doc.get("Type", "Service"))
    _check_item(books, updated, doc["Id"])
    updated["FullyQualifiedName"] = updated["Name"]
    return books.save("Item", updated)
