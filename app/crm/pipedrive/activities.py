"""Writing to a deal's history in Pipedrive: notes (API v1 only; there is no v2 Notes API) and
activities (API v2), lifecycle-and-billing.md §3.4/§3.5.

Neither has an external-id field, so callers that must not duplicate (invoice rules, overdue
follow-ups) keep the returned id on their side and check it before writing again.
Needs ``deals:full`` (notes on deals) and ``activities:full``.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.crm.pipedrive.errors import PipedriveError
from app.crm.pipedrive.schemas import Activity, ActivityIn, Note


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
        answer = await self.client.request("GET", "/api/v1/notes", {"deal_id": deal_id})
        return [Note.model_validate(row) for row in (answer or {}).get("data") or []]

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
