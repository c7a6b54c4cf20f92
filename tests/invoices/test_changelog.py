"""The invoice changelog: events with who, when and what for every action and for a status
that arrived from the provider; per invoice (API and panel) and per company (admins; filters,
paging, bad dates); each event written once to its deal in Pipedrive as a note, by a job
that a retry cannot make post twice; the admins' switch; another company's ids are 404."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from app.crm.pipedrive.service import client_for, installation_for
from app.db import utcnow
from app.invoices.flows.notes import post_note
from app.tenants.models import AuditEvent
from tests.invoices.conftest import Company, installed
from tests.invoices.helpers import body, create, draft, until

PANEL = "/pipedrive/panel"


async def xero_invoice(client: Any, who: Company, deal_id: int = 31) -> dict[str, Any]:
    d = await draft(client, who.headers, deal_id, "xero")
    made = await create(client, who.headers, deal_id, body(d))
    assert made.status_code == 201, made.text
    return dict(made.json())


async def act(client: Any, who: Company, row: str, action: str, deal_id: int = 31) -> Any:
    done = await client.post(
        f"/api/v1/deals/{deal_id}/invoices/{row}/actions/{action}",
        headers={**who.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert done.status_code == 200, done.text
    return done.json()


async def events_of(client: Any, who: Company, row: str, deal_id: int = 31) -> list[Any]:
    response = await client.get(
        f"/api/v1/deals/{deal_id}/invoices/{row}/changelog", headers=who.headers
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def deal_notes(sandbox: Any, app: Any, sessionmaker: Any, company: Company) -> list[Any]:
    async with sessionmaker() as session:
        inst = await installation_for(session, company.user.company_id, company.user.id)
    return await client_for(app.state.http, app.state.settings, sessionmaker, inst.id).notes(31)


async def test_every_action_and_a_synced_status_are_kept_per_invoice(
    client, northwind, sandbox, sessionmaker
):
    invoice = await xero_invoice(client, northwind)
    row = invoice["id"]
    await act(client, northwind, row, "AUTHORISED")
    await act(client, northwind, row, "EMAIL")
    # The customer pays in Xero; the deal's refresh brings the status in: no user did it.
    paid = await sandbox.http.post(
        "/_sandbox/xero/payments",
        json={"InvoiceID": invoice["provider_invoice_id"], "Amount": invoice["total"]},
    )
    assert paid.status_code == 200, paid.text
    refreshed = await client.post("/api/v1/deals/31/invoices/refresh", headers=northwind.headers)
    assert refreshed.status_code == 200

    async def all_four() -> list[Any] | None:
        found = await events_of(client, northwind, row)
        return found if len(found) >= 4 else None

    events = await until(all_four)
    assert [e["event"] for e in events] == [
        "invoice.status_synced",
        "invoice.emailed",
        "invoice.approved",
        "invoice.created",
    ]
    assert [e["actor_name"] for e in events] == ["Xero"] + ["Nora Admin"] * 3
    assert events[0]["summary"].endswith("AUTHORISED → PAID") and events[0]["actor_user_id"] is None
    assert events[2]["via"] == "api" and events[2]["deal_id"] == 31
    number = invoice["number"]
    assert events[3]["summary"] == f"Invoice {number} created in Xero"
    # The panel shows the same, to anyone who may see the deal's invoices.
    fragment = await client.get(f"{PANEL}/31/invoices/{row}/changelog", headers=northwind.headers)
    assert fragment.status_code == 200
    assert fragment.text.count("<li data-event=") == 4
    assert f"Invoice {number} approved in Xero" in fragment.text


async def test_another_companys_or_deals_invoice_is_404(client, northwind, contoso):
    invoice = await xero_invoice(client, northwind)
    row = invoice["id"]
    theirs = await client.get(f"/api/v1/deals/31/invoices/{row}/changelog", headers=contoso.headers)
    assert theirs.status_code == 404
    other_deal = await client.get(
        f"/api/v1/deals/32/invoices/{row}/changelog", headers=northwind.headers
    )
    assert other_deal.status_code == 404
    unknown = await client.get(
        f"/api/v1/deals/31/invoices/{uuid.uuid4()}/changelog", headers=northwind.headers
    )
    assert unknown.status_code == 404
    panel = await client.get(f"{PANEL}/31/invoices/{row}/changelog", headers=contoso.headers)
    assert panel.status_code == 404
    # Another company's admin page and API list none of it.
    listed = (await client.get("/api/v1/changelog", headers=contoso.headers)).json()
    assert listed["total"] == 0 and listed["events"] == []
    page = await client.get("/changelog", headers=contoso.headers)
    assert page.status_code == 200 and 'id="no-events"' in page.text


async def test_each_event_becomes_one_deal_note_and_a_retry_posts_none(
    client, northwind, sandbox, app, sessionmaker
):
    await sandbox.clear_requests()
    invoice = await xero_invoice(client, northwind)
    await act(client, northwind, invoice["id"], "SUBMITTED")

    async def both_posted() -> bool | None:
        async with sessionmaker() as session:
            events = (
                await session.scalars(select(AuditEvent).where(AuditEvent.action.like("invoice.%")))
            ).all()
        return True if len(events) == 2 and all(e.note_id for e in events) else None

    await until(both_posted)
    # Each job ran once, under its first claim by the in-process broker: nothing can have
    # posted its note before, so it posted without searching the deal's notes first.
    note_calls = [r for r in await sandbox.requests() if r["path"].endswith("/api/v1/notes")]
    assert sorted(r["method"] for r in note_calls) == ["POST", "POST"]
    notes = await deal_notes(sandbox, app, sessionmaker, northwind)
    assert len(notes) == 2
    assert any(f"Invoice {invoice['number']} submitted for approval" in n.content for n in notes)
    async with sessionmaker() as session:
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action.like("invoice.%")))
        ).all()
        assert all(e.note_id for e in events)
        event = events[0]
        # A job run again: the event knows its note.
        assert await post_note(app.state, session, event.company_id, event.id) == "already posted"
        # A retry whose first run posted but never committed finds the note by its marker.
        event.note_id = None
        assert await post_note(app.state, session, event.company_id, event.id) == "found"
        await session.commit()
    assert len(await deal_notes(sandbox, app, sessionmaker, northwind)) == 2


async def test_admins_turn_deal_notes_off(client, northwind, sandbox, app, sessionmaker):
    sam = await installed(client, sandbox, sessionmaker, 102)
    off = await client.put("/api/v1/changelog/settings", json={"notes": False}, headers=sam.headers)
    assert off.status_code == 403
    off = await client.put(
        "/api/v1/changelog/settings", json={"notes": False}, headers=northwind.headers
    )
    assert off.status_code == 200
    invoice = await xero_invoice(client, northwind)
    assert len(await events_of(client, northwind, invoice["id"])) == 1
    async with sessionmaker() as session:
        event = (await session.scalars(select(AuditEvent).where(AuditEvent.deal_id == 31))).one()
        assert await post_note(app.state, session, event.company_id, event.id) == "notes off"
    assert await deal_notes(sandbox, app, sessionmaker, northwind) == []
    # The page's switch turns them on again.
    on = await client.post(
        "/changelog/notes",
        content="notes=on",
        headers={**northwind.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert on.status_code == 200 and "On: saved." in on.text


async def test_the_admin_page_filters_by_user_deal_and_date_and_pages(
    client, northwind, sandbox, sessionmaker
):
    sam = await installed(client, sandbox, sessionmaker, 102)
    mine = await xero_invoice(client, northwind)
    await xero_invoice(client, sam)
    await xero_invoice(client, northwind, deal_id=32)
    # Sixty older events, to page through.
    async with sessionmaker() as session:
        await session.execute(update(AuditEvent).values(at=utcnow()))
        for n in range(60):
            session.add(
                AuditEvent(
                    company_id=northwind.user.company_id,
                    action="invoice.emailed",
                    actor_user_id=northwind.user.id,
                    actor_name="Nora Admin",
                    deal_id=33,
                    provider="xero",
                    provider_invoice_id=f"old-{n}",
                    details={"number": f"OLD-{n}"},
                    at=utcnow() - timedelta(days=400 + n),
                )
            )
        await session.commit()
    api = "/api/v1/changelog"
    everyone = (await client.get(api, headers=northwind.headers)).json()
    assert everyone["total"] == 63 and len(everyone["events"]) == 50 and everyone["has_more"]
    second = (await client.get(api, params={"page": 2}, headers=northwind.headers)).json()
    assert len(second["events"]) == 13 and not second["has_more"]
    by_sam = await client.get(api, params={"user_id": sam.user.id}, headers=northwind.headers)
    assert [e["actor_name"] for e in by_sam.json()["events"]] == ["Sam Sales"]
    by_deal = (await client.get(api, params={"deal_id": 32}, headers=northwind.headers)).json()
    assert by_deal["total"] == 1 and by_deal["events"][0]["deal_id"] == 32
    # The company's days (Pacific/Auckland) may be a day ahead of UTC's.
    today = utcnow().date() + timedelta(days=1)
    recent = await client.get(
        api,
        params={"date_from": (today - timedelta(days=2)).isoformat(), "date_to": today.isoformat()},
        headers=northwind.headers,
    )
    assert recent.json()["total"] == 3
    backwards = await client.get(
        api, params={"date_from": "2026-02-01", "date_to": "2026-01-01"}, headers=northwind.headers
    )
    assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "date_from"
    assert (await client.get(api, headers=sam.headers)).status_code == 403
    # The page: the same filters, and the pager.
    page = await client.get("/changelog", params={"deal_id": 31}, headers=northwind.headers)
    assert page.status_code == 200
    assert page.text.count('<tr data-event="created">') == 2
    assert f"Invoice {mine['number']} created in Xero" in page.text
    paged = await client.get("/changelog", headers=northwind.headers)
    assert 'id="page-more"' in paged.text
    bad = await client.get(
        "/changelog",
        params={"date_from": "2026-02-01", "date_to": "2026-01-01"},
        headers=northwind.headers,
    )
    assert bad.status_code == 422 and "start date is after the end date" in bad.text
    junk = await client.get("/changelog", params={"deal_id": "x"}, headers=northwind.headers)
    assert junk.status_code == 422 and "deal_id" in junk.text
    assert (await client.get("/changelog", headers=sam.headers)).status_code == 403
