"""The Pipedrive part of the demo world (docs/demo-data.md, section Pipedrive). Ids are fixed."""

from __future__ import annotations

import uuid
from datetime import timedelta
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


def seed(sandbox: Sandbox) -> dict[str, Any]:
    """Write the demo companies, users, fields, products, organizations, persons and deals."""
    data = Data(sandbox)
    now = sandbox.clock.now()
    created = rfc3339(now - timedelta(days=60))
    updated = rfc3339(now - timedelta(days=2))
    created_v1 = (now - timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S")
    counts = {
        "companies": 0,
        "users": 0,
        "products": 0,
        "organizations": 0,
        "persons": 0,
        "deals": 0,
    }
    with sandbox.store.transaction():
        for cid, name, domain, currency, tz, country, locale, users in COMPANIES:
            offset = 0 if cid == 7001 else 100
            data.put_company(
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
            counts["companies"] += 1
            admin_id, rep_id = users[0][0], users[1][0]
            for uid, uname, email, is_admin in users:
                data.put_user(
                    {
                        "id": uid,
                        "company_id": cid,
                        "name": uname,
                        "email": email,
                        "is_admin": is_admin,
                        "locale": locale,
                        "timezone_name": tz,
                        "default_currency": currency,
                        "created": created_v1,
                        "language": {"language_code": "en", "country_code": country},
                    }
                )
                counts["users"] += 1
            keys = seed_fields(data, cid, created_v1)
            for pid, pname, code, price, tax, unit in PRODUCTS:
                data.put(
                    "product",
                    cid,
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
                        "owner_id": admin_id,
                        "add_time": created,
                        "update_time": updated,
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
                counts["products"] += 1
            org_keys = keys["organization"]
            for oid, oname, address, vat, billing, segment in ORGANIZATIONS:
                data.put(
                    "organization",
                    cid,
                    {
                        "id": oid + offset,
                        "name": oname,
                        "owner_id": admin_id,
                        "add_time": created,
                        "update_time": updated,
                        "is_deleted": False,
                        "visible_to": 3,
                        "label_ids": [],
                        "address": address,
                        "custom_fields": {
                            org_keys["VAT number"]: vat,
                            org_keys["Billing email"]: billing,
                            org_keys["Segment"]: (
                                option_id(cid, ["SMB", "Enterprise"].index(segment) + 1)
                                if segment
                                else None
                            ),
                        },
                    },
                )
                counts["organizations"] += 1
            for pid_, first, last, org_, emails, phone, job in PERSONS:
                data.put(
                    "person",
                    cid,
                    {
                        "id": pid_ + offset,
                        "name": f"{first} {last}",
                        "first_name": first,
                        "last_name": last,
                        "owner_id": rep_id,
                        "org_id": org_ + offset,
                        "add_time": created,
                        "update_time": updated,
                        "is_deleted": False,
                        "visible_to": 3,
                        "label_ids": [],
                        "emails": [
                            {"value": v, "primary": p, "label": lbl} for v, p, lbl in emails
                        ],
                        "phones": (
                            [{"value": phone, "primary": True, "label": "work"}] if phone else []
                        ),
                        "custom_fields": {keys["person"]["Job title"]: job},
                    },
                )
                counts["persons"] += 1
            for (
                deal_id,
                title,
                cur,
                org_id,
                person_id,
                by_rep,
                tax_method,
                lines,
                discounts,
                manual,
                po,
                deleted,
            ) in DEALS:
                if deleted and offset:
                    continue  # the deleted deal exists in Northwind only
                did = deal_id + offset
                deal: dict[str, Any] = {
                    "id": did,
                    "title": title,
                    "value": manual,
                    "currency": cur,
                    "owner_id": rep_id if by_rep else admin_id,
                    "person_id": person_id + offset if person_id else None,
                    "org_id": org_id + offset if org_id else None,
                    "pipeline_id": 1,
                    "stage_id": 3,
                    "status": "deleted" if deleted else "open",
                    "add_time": created,
                    "update_time": updated,
                    "stage_change_time": None,
                    "close_time": None,
                    "won_time": None,
                    "lost_time": None,
                    "expected_close_date": (now + timedelta(days=30)).date().isoformat(),
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
                        keys["deal"]["Billing contact"]: person_id + offset
                        if person_id and po
                        else None,
                    },
                }
                stored_lines = []
                for n, (product_id, qty, disc, disc_type, line_tax) in enumerate(lines, start=1):
                    product = data.get("product", cid, product_id)
                    assert product is not None
                    line = make_line(
                        line_id=did * 10 + n,
                        deal=deal,
                        product=product,
                        order_nr=n,
                        quantity=qty,
                        discount=disc,
                        discount_type=disc_type,
                        tax=line_tax,
                        tax_method=tax_method,
                        now=created,
                    )
                    data.put_line(cid, line)
                    stored_lines.append(line)
                stored_discounts = []
                for n, (kind, amount, description) in enumerate(discounts, start=1):
                    discount = make_discount(
                        discount_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"pd:{cid}:{did}:{n}")),
                        deal=deal,
                        kind=kind,
                        amount=amount,
                        description=description,
                        user_id=admin_id,
                        now=created,
                    )
                    data.put_discount(cid, discount)
                    stored_discounts.append(discount)
                recompute_value(deal, stored_lines, stored_discounts)
                data.put("deal", cid, deal)
                counts["deals"] += 1
    return counts


__all__ = ["custom_key", "seed"]
