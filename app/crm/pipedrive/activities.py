"""Writing to a deal's history in Pipedrive: notes (API v1 only; there is no v2 Notes API) and
activities (API v2), lifecycle-and-billing.md §3.4/§3.5.

Neither has an external-id field, so callers that must not duplicate (invoice rules, overdue
follow-ups) keep the returned id on their side and check it before writing again.
Needs ``deals:full`` (notes on deals) and ``activities:full``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Protocol

from app.crm.pipedrive.errors import PipedriveError
from app.crm.pipedrive.schemas import Activity, ActivityIn, Note

# v1 pages of notes: 100 a request (Pipedrive allows up to 500), and a bound on the pages read
# (50,000 notes) so a misbehaving answer cannot keep a job paging forever.
NOTE_PAGE = 100
MAX_NOTE_PAGES = 500


class Requester(Protocol):
    async def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> Any: ...


def _data(body: Any, what: str) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise PipedriveError(f"Pipedrive's answer to {what} has no data")
    return data


class DealHistory:
    """Notes and activities on deals, through one installation's client."""

    def __init__(self, client: Requester) -> None:
        self.client = client

    async def add_note(self, deal_id: int, content: str, pinned: bool = False) -> int:
        """Add an HTML note to the deal; returns the note's id."""
        body: dict[str, Any] = {"deal_id": deal_id, "content": content}
        if pinned:
            body["pinned_to_deal_flag"] = 1
        answer = await self.client.request("POST", "/api/v1/notes", body=body)
        return Note.model_validate(_data(answer, "POST /v1/notes")).id

    async def notes(self, deal_id: int) -> list[Note]:
        """All the deal's notes, oldest first (every page of v1's offset paging)."""
        found: list[Note] = []
        async for page in self._note_pages(deal_id, "id ASC"):
            found.extend(Note.model_validate(row) for row in page)
        return found

    async def find_note(self, deal_id: int, marker: str, since: datetime) -> int | None:
        """The id of the deal's newest note containing ``marker`` among those added at or
        after ``since`` (None: none). Newest first, stopping at the first older note, and
        matched on the raw rows: the cost stays the same however many notes the deal has."""
        # add_time is "YYYY-MM-DD HH:MM:SS" in UTC: as text it orders as the times do.
        oldest = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        async for page in self._note_pages(deal_id, "add_time DESC, id DESC"):
            for row in page:
                added = row.get("add_time")
                if isinstance(added, str) and added < oldest:
                    return None
                if marker in str(row.get("content") or ""):
                    return Note.model_validate(row).id
        return None

    async def _note_pages(self, deal_id: int, sort: str) -> AsyncIterator[list[dict[str, Any]]]:
        start = 0
        for _ in range(MAX_NOTE_PAGES):
            params = {"deal_id": deal_id, "sort": sort, "start": start, "limit": NOTE_PAGE}
            answer = await self.client.request("GET", "/api/v1/notes", params) or {}
            yield [row for row in answer.get("data") or [] if isinstance(row, dict)]
            paging = (answer.get("additional_data") or {}).get("pagination") or {}
            following = paging.get("next_start")
            if not paging.get("more_items_in_collection") or not isinstance(following, int):
                return
            start = following

    async def create_activity(self, activity: ActivityIn) -> Activity:
        """Create an activity (a to-do for its owner); returns it with its id."""
        answer = await self.client.request("POST", "/api/v2/activities", body=activity.body())
        return Activity.model_validate(_data(answer, "POST /v2/activities"))

    async def update_activity(self, activity_id: int, *, done: bool) -> Activity:
        """Mark an activity done (or not done again)."""
        answer = await self.client.request(
            "PATCH", f"/api/v2/activities/{activity_id}", body={"done": done}
        )
        return Activity.model_validate(_data(answer, "PATCH /v2/activities"))

    async def activities(self, deal_id: int) -> list[Activity]:
        answer = await self.client.request(
            "GET", "/api/v2/activities", {"deal_id": deal_id, "limit": 500}
        )
        return [Activity.model_validate(row) for row in (answer or {}).get("data") or []]
