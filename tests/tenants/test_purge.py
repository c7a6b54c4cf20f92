"""Uninstall leaves nothing: after a company's last user uninstalls (sent by the sandbox's
Pipedrive over real HTTP), no row of any table in the metadata names the company, its users,
its rows or its Pipedrive company id. The walk is generic, so tables added later are covered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.crm.pipedrive.client import FieldDefinitionCache
from app.db import Base
from app.invoices.context import MetaCache
from app.tenants.models import AuditEvent
from app.tenants.service import company_tables
from app.worker.models import Job
from tests.connections.conftest import flow  # noqa: F401 - fixture
from tests.crm.pipedrive.test_sandbox_flows import install_through_sandbox
from tests.invoices.conftest import contoso, northwind  # noqa: F401 - fixtures
from tests.invoices.helpers import body, create, draft
from tests.invoices.test_sync import approve, listed, until

NORTHWIND = 7001


@pytest.fixture(autouse=True)
def _fresh_caches(app: Any) -> None:
    # As in tests/invoices: the sandbox starts afresh, so must our caches and adapters.
    app.state.pipedrive_fields = FieldDefinitionCache()
    app.state.invoice_meta = MetaCache()
    app.state.providers = None


async def all_rows(sessionmaker: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in the metadata, as plain dicts."""
    async with sessionmaker() as session:
        return {
            table.name: [dict(row._mapping) for row in await session.execute(select(table))]
            for table in Base.metadata.sorted_tables
        }


def company_fingerprints(rows: dict[str, list[dict[str, Any]]], company_id: str) -> set[str]:
    """The company's id and every string id on its rows (users, invoices, provider invoices,
    events, jobs...): anything left that contains one of them still points at the company."""
    found = {company_id}
    for table in company_tables():
        for row in rows[table.name]:
            if row["company_id"] != company_id:
                continue
            found.update(
                value
                for name, value in row.items()
                if (name == "id" or name.endswith("_id")) and isinstance(value, str)
                if len(value) >= 8  # ids, not short codes that any row may share
            )
    return found


def walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(key, leaf) pairs of a JSON value; the key is the nearest dict key above the leaf."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, key)
    else:
        yield key, value


def references(
    rows: dict[str, list[dict[str, Any]]], fingerprints: set[str], pipedrive_company_id: int
) -> list[str]:
    """Every cell that names the company: contains one of its ids, or is a company-named
    column or JSON key holding its Pipedrive company id."""
    hits = []
    for table, table_rows in rows.items():
        for row in table_rows:
            for column, value in row.items():
                text = json.dumps(value, default=str) if isinstance(value, dict | list) else None
                text = text if text is not None else str(value)
                if any(f in text for f in fingerprints):
                    hits.append(f"{table}.{column}={text[:80]}")
                for key, leaf in walk(value, column):
                    if "company" in key and str(leaf) == str(pipedrive_company_id):
                        hits.append(f"{table}.{column}[{key}]={leaf}")
    return hits


async def build_a_history(client: Any, sandbox: Any, company: Any, sessionmaker: Any) -> None:
    """Invoices at Xero and QuickBooks, an approval and a payment whose webhook goes through
    the inbox and the worker: audit lines, webhook events and jobs for the company."""
    made = {}
    for provider in ("xero", "quickbooks"):
        d = await draft(client, company.headers, 31, provider)
        # QuickBooks' US tax differs from the deal's 15 %: confirmed, as in the dialog.
        response = await create(
            client, company.headers, 31, body(d, accept_tax_difference=provider == "quickbooks")
        )
        assert response.status_code == 201, response.text
        made[provider] = response.json()
    invoice = made["xero"]
    await approve(client, company, invoice["id"])
    total = (await listed(client, company, invoice["id"]))["total"]
    paid = await sandbox.http.post(
        "/_sandbox/xero/payments",
        json={"InvoiceID": invoice["provider_invoice_id"], "Amount": total},
    )
    assert paid.status_code == 200, paid.text

    async def settled() -> bool:
        row = await listed(client, company, invoice["id"])
        async with sessionmaker() as session:
            busy = (
                await session.scalars(
                    select(Job).where(
                        Job.company_id == company.user.company_id,
                        Job.status.in_(("pending", "running")),
                    )
                )
            ).all()
        return row["provider_status"] == "PAID" and not busy

    await until(settled)
    assert Decimal((await listed(client, company, invoice["id"]))["amount_due"]) == 0


async def test_last_uninstall_leaves_no_row_naming_the_company(
    client,
    sandbox,
    app_server,
    sessionmaker,
    northwind,  # noqa: F811 - fixture
    contoso,  # noqa: F811 - fixture
):
    await install_through_sandbox(client, sandbox, 102)  # a second Northwind user
    await build_a_history(client, sandbox, northwind, sessionmaker)
    company_id = northwind.user.company_id
    before = await all_rows(sessionmaker)
    # The history reached the tables this test is about, new ones included.
    for name in (
        "audit_event",
        "crm_user",
        "deal_invoice",
        "job",
        "pipedrive_installation",
        "provider_connection",
        "webhook_event",
    ):
        assert any(r["company_id"] == company_id for r in before[name]), name
    fingerprints = company_fingerprints(before, company_id)
    assert len(fingerprints) > 10
    assert references(before, fingerprints, NORTHWIND)  # the check can see them
    contoso_before = {
        t.name: [r for r in before[t.name] if r["company_id"] == contoso.user.company_id]
        for t in company_tables()
    }

    for user_id in (102, 101):
        gone = await sandbox.http.post(
            "/_sandbox/pipedrive/uninstall", json={"user_id": user_id, "company_id": NORTHWIND}
        )
        assert gone.status_code < 300, gone.text

    after = await all_rows(sessionmaker)
    assert references(after, fingerprints, NORTHWIND) == []
    assert not [r for r in after["company"] if r["pipedrive_company_id"] == NORTHWIND]
    # What is kept: one anonymous line with counts, and nothing of Contoso is touched.
    (purged,) = [r for r in after["audit_event"] if r["action"] == "company.purged"]
    assert (purged["company_id"], purged["pipedrive_company_id"], purged["actor_user_id"]) == (
        None,
        None,
        None,
    )
    assert purged["details"]["deleted"]["deal_invoice"] == 2
    assert purged["details"]["deleted"]["webhook_event"] >= 1
    for name, rows in contoso_before.items():
        kept = [r for r in after[name] if r["company_id"] == contoso.user.company_id]
        assert kept == rows, name
    # Contoso still signs in.
    assert (await client.get("/api/v1/me", headers=contoso.headers)).status_code == 200


async def test_purge_also_drops_audit_lines_that_name_the_company_another_way(
    client, make_user, settings, sessionmaker
):
    """Lines without a company_id that name the company by its Pipedrive id or one of its
    users go too; another company's lines and company-less lines stay."""
    admin = await make_user(pipedrive_company_id=NORTHWIND, pipedrive_user_id=101)
    other = await make_user(pipedrive_company_id=7002, pipedrive_user_id=201)
    async with sessionmaker() as session:
        session.add_all(
            [
                AuditEvent(action="t.by_pipedrive_id", pipedrive_company_id=NORTHWIND),
                AuditEvent(action="t.by_actor", actor_user_id=admin.id),
                AuditEvent(action="t.other", company_id=other.company_id),
                AuditEvent(action="t.nobody"),
            ]
        )
        await session.commit()
    response = await client.request(
        "DELETE",
        "/pipedrive/callback",
        json={"client_id": "x", "company_id": NORTHWIND, "user_id": 101, "timestamp": "now"},
        auth=(settings.pipedrive.client_id, settings.pipedrive.client_secret),
    )
    assert response.json()["company_purged"] is True, response.text
    async with sessionmaker() as session:
        actions = sorted((await session.scalars(select(AuditEvent.action))).all())
    assert actions == ["company.purged", "t.nobody", "t.other"]
