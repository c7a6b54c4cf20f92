"""Our client's notes and activities calls against the sandbox's Pipedrive over real HTTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.crm.pipedrive.errors import PipedriveError, PipedriveNotFound
from app.crm.pipedrive.models import PipedriveInstallation
from app.crm.pipedrive.schemas import ActivityIn
from app.crm.pipedrive.service import client_for
from tests.crm.pipedrive.test_sandbox_flows import install_through_sandbox


async def _client(client, sandbox, app, sessionmaker, user_id: int = 101):
    await install_through_sandbox(client, sandbox, user_id)
    async with sessionmaker() as session:
        row = (await session.execute(select(PipedriveInstallation))).scalars().first()
    assert row is not None
    return client_for(app.state.http, app.state.settings, sessionmaker, row.id)


async def test_note_and_activity_round_trip(client, sandbox, app, sessionmaker):
    api = await _client(client, sandbox, app, sessionmaker)
    note_id = await api.add_note(31, "<p>Link <b>Consulting hour</b> to an item</p>")
    assert note_id > 0
    notes = await api.notes(31)
    assert [n.id for n in notes] == [note_id] and "Consulting hour" in notes[0].content

    made = await api.create_activity(
        ActivityIn(
            subject="Acme Ltd: INV-0005 is 3 days overdue",
            type="task",
            owner_id=101,
            deal_id=31,
            due_date=date(2026, 3, 14),
            note="<p>https://example.test/pay</p>",
        )
    )
    assert made.id > 0 and made.done is False and made.due_date == "2026-03-14"
    done = await api.update_activity(made.id, done=True)
    assert done.done is True
    assert [(a.id, a.done) for a in await api.activities(31)] == [(made.id, True)]


async def test_another_companys_deal_is_not_found(client, sandbox, app, sessionmaker):
    api = await _client(client, sandbox, app, sessionmaker)
    with pytest.raises(PipedriveNotFound):
        await api.add_note(131, "<p>x</p>")
    with pytest.raises(PipedriveNotFound):
        await api.create_activity(ActivityIn(subject="x", deal_id=131))


def test_activity_body_is_what_pipedrive_expects():
    body = ActivityIn(subject="s", deal_id=5, due_date=date(2026, 1, 2)).body()
    expected = {"subject": "s", "type": "task", "deal_id": 5, "due_date": "2026-01-02"}
    assert body == {**expected, "done": False}


async def test_a_note_is_found_among_the_recent_ones_newest_first(
    client, sandbox, app, sessionmaker
):
    """The changelog's note lookup reads only notes since its event, whatever the deal has:
    more than one page of older notes costs one request, and an older note is not looked at."""
    api = await _client(client, sandbox, app, sessionmaker)
    older = [await api.add_note(31, f"<p>older ref-{n}</p>") for n in range(101)]
    await sandbox.advance(600)
    now = datetime.fromisoformat((await sandbox.http.get("/_sandbox/clock")).json()["now"])
    newer = [await api.add_note(31, f"<p>newer ref-{n}</p>") for n in range(3)]
    since = now - timedelta(minutes=5)
    await sandbox.clear_requests()
    assert await api.find_note(31, "newer ref-0", since) == newer[0]
    reads = [r for r in await sandbox.requests() if r["path"].endswith("/v1/notes")]
    assert len(reads) == 1 and "add_time+DESC" in reads[0]["query"]
    assert await api.find_note(31, "older ref-100", since) is None
    assert await api.find_note(31, "older ref-100", since - timedelta(hours=1)) == older[-1]
    # Every note, over two pages, oldest first.
    assert [n.id for n in await api.notes(31)] == older + newer


async def test_a_sort_pipedrive_does_not_know_is_refused(client, sandbox, app, sessionmaker):
    api = await _client(client, sandbox, app, sessionmaker)
    with pytest.raises(PipedriveError) as refused:
        await api.request("GET", "/api/v1/notes", {"deal_id": 31, "sort": "title DESC"})
    assert "sort" in refused.value.message
