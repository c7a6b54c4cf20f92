"""The Pipedrive part of the demo world (docs/demo-data.md, section Pipedrive). Ids are fixed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.pipedrive.api.fields import custom_key, option_id, seed_fields
from sandbox.pipedrive.rules import dec, make_discount, make_line, number, recompute_value
from sandbox.pipedrive.seed_data import (
    COMPANIES,
    DEALS,
    ORGANIZATIONS,
    PERSONS,
    PRICE_CURRENCIES,
    PRODUCTS,
)
from sandbox.pipedrive.state import Data, rfc3339

if TYPE_CHECKING:
    from sandbox.app import Sandbox


@dataclass
class Company:
    """One demo company being written, and what its rows share."""

    data: Data
    cid: int
    offset: int
    admin_id: int
    rep_id: int
    now: datetime
    keys: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def created(self) -> str:
        return rfc3339(self.now - timedelta(days=60))

    @property
    def updated(self) -> str:
        return rfc3339(self.now - timedelta(days=2))

    @property
    def created_v1(self) -> str:
        return (self.now - timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S")


def seed(sandbox: Sandbox) -> dict[str, Any]:
    """Write the demo companies, users, fields, products, organizations, persons and deals."""
    data = Data(sandbox)
    now = sandbox.clock.now()
    counts = dict.fromkeys(
        ("companies", "users", "products", "organizations", "persons", "deals"), 0
    )
    with sandbox.store.transaction():
        for row in COMPANIES:
            cid, users = row[0], row[7]
            offset = 0 if cid == 7001 else 100
            company = Company(data, cid, offset, users[0][0], users[1][0], now)
            write_company(company, row, counts)
    return counts


def write_company(company: Company, row: tuple[Any, ...], counts: dict[str, int]) -> None:
    """One company with its users, fields, products, organizations, persons and deals."""
    seed_company(company, row)
    counts["companies"] += 1
    counts["users"] += seed_users(company, row)
    company.keys = seed_fields(company.data, company.cid, company.created_v1)
    counts["products"] += seed_products(company)
    counts["organizations"] += seed_organizations(company)
    counts["persons"] += seed_persons(company)
    counts["deals"] += seed_deals(company)


# The `bench` set: company n (1, 2, ...) is 7100 + n (field and option ids derive from the
# company id), its admin 100 x that + 1, its rep + 2, and its rows the demo's with ids offset
# by 1000 x n, so that no id is shared with the demo or another company, as in Pipedrive.
BENCH_COMPANY_BASE = 7100
BENCH_ID_OFFSET = 1000
ACME_ROLLOUT = 31


def bench_row(n: int) -> tuple[Any, ...]:
    cid = BENCH_COMPANY_BASE + n
    users = [
        (cid * 100 + 1, f"Bench Admin {n}", f"admin@bench{n}.test", True),
        (cid * 100 + 2, f"Bench Rep {n}", f"rep@bench{n}.test", False),
    ]
    return (cid, f"Bench Traders {n}", f"bench{n}", "NZD", "Pacific/Auckland", "NZ", "en_NZ", users)


def seed_bench(sandbox: Sandbox, companies: int) -> dict[str, Any]:
    """``companies`` companies like Northwind (NZD, en_NZ), each with the demo's products,
    organizations, persons and deals; companies that exist are kept as they are."""
    data = Data(sandbox)
    now = sandbox.clock.now()
    counts = dict.fromkeys(
        ("companies", "users", "products", "organizations", "persons", "deals"), 0
    )
    written = []
    with sandbox.store.transaction():
        for n in range(1, companies + 1):
            row = bench_row(n)
            cid, users, offset = row[0], row[7], BENCH_ID_OFFSET * n
            if data.company(cid) is None:
                company = Company(data, cid, offset, users[0][0], users[1][0], now)
                write_company(company, row, counts)
            written.append(
                {
                    "company_id": cid,
                    "domain": row[2],
                    "admin_user_id": users[0][0],
                    "deal_id": ACME_ROLLOUT + offset,
                }
            )
    return {"written": counts, "companies": written}


def seed_company(company: Company, row: tuple[Any, ...]) -> None:
    cid, name, domain, currency, tz, country, _locale, _users = row
    company.data.put_company(
        {
            "id": cid,
            "name": name,
            "domain": domain,
            "default_currency": currency,
            "timezone_name": tz,
            "country": country,
            "plan": "lite",
            "daily_budget": None,
            "burst_limit": None,
        }
    )


def seed_users(company: Company, row: tuple[Any, ...]) -> int:
    cid, _name, _domain, currency, tz, country, locale, users = row
    for uid, uname, email, is_admin in users:
        company.data.put_user(
            {
                "id": uid,
                "company_id": cid,
                "name": uname,
                "email": email,
                "is_admin": is_admin,
                "locale": locale,
                "timezone_name": tz,
                "default_currency": currency,
                "created": company.created_v1,
                "language": {"language_code": "en", "country_code": country},
            }
        )
    return len(users)


def seed_products(company: Company) -> int:
    for pid, pname, code, price, tax, unit in PRODUCTS:
        company.data.put(
            "product",
            company.cid,
            {
                "id": pid,
                "name": pname,
                "code": code,
                "description": None,
                "unit": unit,
                "tax": tax,
                "category": None,
                "is_deleted": False,
                "is_linkable": True,
                "visible_to": 3,
                "owner_id": company.admin_id,
                "add_time": company.created,
                "update_time": company.updated,
                "custom_fields": {},
                "billing_frequency": "one-time",
                "billing_frequency_cycles": None,
                "prices": [
                    {
                        "product_id": pid,
                        "currency": cur,
                        "price": number(dec(price)),
                        "cost": 0,
                        "direct_cost": None,
                        "notes": "",
                    }
                    for cur in PRICE_CURRENCIES
                ],
            },
        )
    return len(PRODUCTS)


def seed_organizations(company: Company) -> int:
    org_keys = company.keys["organization"]
    for oid, oname, address, vat, billing, segment in ORGANIZATIONS:
        company.data.put(
            "organization",
            company.cid,
            {
                "id": oid + company.offset,
                "name": oname,
                "owner_id": company.admin_id,
                "add_time": company.created,
                "update_time": company.updated,
                "is_deleted": False,
                "visible_to": 3,
                "label_ids": [],
                "address": address,
                "custom_fields": {
                    org_keys["VAT number"]: vat,
                    org_keys["Billing email"]: billing,
                    org_keys["Segment"]: (
                        option_id(company.cid, ["SMB", "Enterprise"].index(segment) + 1)
                        if segment
                        else None
                    ),
                },
            },
        )
    return len(ORGANIZATIONS)


def seed_persons(company: Company) -> int:
    offset = company.offset
    for pid_, first, last, org_, emails, phone, job in PERSONS:
        company.data.put(
            "person",
            company.cid,
            {
                "id": pid_ + offset,
                "name": f"{first} {last}",
                "first_name": first,
                "last_name": last,
                "owner_id": company.rep_id,
                "org_id": org_ + offset,
                "add_time": company.created,
                "update_time": company.updated,
                "is_deleted": False,
                "visible_to": 3,
                "label_ids": [],
                "emails": [{"value": v, "primary": p, "label": lbl} for v, p, lbl in emails],
                "phones": ([{"value": phone, "primary": True, "label": "work"}] if phone else []),
                "custom_fields": {company.keys["person"]["Job title"]: job},
            },
        )
    return len(PERSONS)


def seed_deals(company: Company) -> int:
    written = 0
    for row in DEALS:
        deleted = row[11]
        if deleted and company.offset:
            continue  # the deleted deal exists in Northwind only
        deal = deal_document(company, row)
        stored_lines = seed_deal_lines(company, deal, row[6], row[7])
        stored_discounts = seed_deal_discounts(company, deal, row[8])
        recompute_value(deal, stored_lines, stored_discounts)
        company.data.put("deal", company.cid, deal)
        written += 1
    return written


def deal_document(company: Company, row: tuple[Any, ...]) -> dict[str, Any]:
    deal_id, title, cur, org_id, person_id, by_rep, _tax, _lines, _disc, manual, po, deleted = row
    offset, keys = company.offset, company.keys
    return {
        "id": deal_id + offset,
        "title": title,
        "value": manual,
        "currency": cur,
        "owner_id": company.rep_id if by_rep else company.admin_id,
        "person_id": person_id + offset if person_id else None,
        "org_id": org_id + offset if org_id else None,
        "pipeline_id": 1,
        "stage_id": 3,
        "status": "deleted" if deleted else "open",
        "add_time": company.created,
        "update_time": company.updated,
        "stage_change_time": None,
        "close_time": None,
        "won_time": None,
        "lost_time": None,
        "expected_close_date": (company.now + timedelta(days=30)).date().isoformat(),
        "probability": None,
        "lost_reason": None,
        "label_ids": [],
        "is_deleted": deleted,
        "is_archived": False,
        "archive_time": None,
        "visible_to": 3,
        "origin": "ManuallyCreated",
        "origin_id": None,
        "channel": None,
        "channel_id": None,
        "arr": None,
        "mrr": None,
        "acv": None,
        "custom_fields": {
            keys["deal"]["PO number"]: po,
            keys["deal"]["Billing contact"]: person_id + offset if person_id and po else None,
        },
    }


def seed_deal_lines(
    company: Company, deal: dict[str, Any], tax_method: str, lines: list[Any]
) -> list[dict[str, Any]]:
    stored = []
    for n, (product_id, qty, disc, disc_type, line_tax) in enumerate(lines, start=1):
        product = company.data.get("product", company.cid, product_id)
        assert product is not None
        line = make_line(
            line_id=deal["id"] * 10 + n,
            deal=deal,
            product=product,
            order_nr=n,
            quantity=qty,
            discount=disc,
            discount_type=disc_type,
            tax=line_tax,
            tax_method=tax_method,
            now=company.created,
        )
        company.data.put_line(company.cid, line)
        stored.append(line)
    return stored


def seed_deal_discounts(
    company: Company, deal: dict[str, Any], discounts: list[Any]
) -> list[dict[str, Any]]:
    stored = []
    for n, (kind, amount, description) in enumerate(discounts, start=1):
        discount = make_discount(
            discount_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"pd:{company.cid}:{deal['id']}:{n}")),
            deal=deal,
            kind=kind,
            amount=amount,
            description=description,
            user_id=company.admin_id,
            now=company.created,
        )
        company.data.put_discount(company.cid, discount)
        stored.append(discount)
    return stored


__all__ = ["custom_key", "seed", "seed_bench"]
