"""Notes (API v1 only) and activities (API v2), as Pipedrive validates them
(lifecycle-and-billing.md §3.4/§3.5):

- ``POST /v1/notes`` needs ``deals:full`` (or ``contacts:full`` for a person/organization note),
  HTML ``content`` and one target; a target of another company is "not found" (404).
  ``GET /v1/notes?deal_id=`` lists a deal's notes (v1 offset paging, ``sort`` by first-level
  fields: ``add_time DESC, id DESC``).
- ``POST /api/v2/activities`` needs ``activities:full``, a ``subject``, a ``type`` that is one
  of the company's activity types' ``key_string`` (``GET /v1/activityTypes``), an ``owner_id``
  in the company, ``due_date`` ``YYYY-MM-DD`` and ``due_time``/``duration`` ``HH:MM``.
  ``PATCH /api/v2/activities/{id}`` changes fields (``{"done": true}``);
  ``GET /api/v2/activities?deal_id=&done=`` lists them (v2 cursors).

Content is sanitized as Pipedrive does server-side: scripts, styles and ``on*`` attributes go.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from sandbox.pipedrive.api.common import (
    ApiContext,
    api_call,
    has_scope,
    ok,
    paginate,
    paginate_v1,
    parse_id,
)
from sandbox.pipedrive.errors import PipedriveError
from sandbox.pipedrive.limits import COSTS

ACTIVITY_TYPES = (
    (1, "Call", "call"),
    (2, "Meeting", "meeting"),
    (3, "Task", "task"),
    (4, "Deadline", "deadline"),
    (5, "Email", "email"),
    (6, "Lunch", "lunch"),
)
NOTE_SORT_FIELDS = (
    "id", "user_id", "deal_id", "person_id", "org_id", "content", "add_time", "update_time",
)  # fmt: skip
TARGETS = ("deal_id", "person_id", "org_id", "lead_id", "project_id")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
UNSAFE_BLOCKS = re.compile(r"<(script|style|iframe)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
UNSAFE_ATTRS = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.IGNORECASE)
SCOPE_MISMATCH = "Scope and URL mismatch"

NoteCtx = Annotated[ApiContext, Depends(api_call(COSTS["notes"]))]
ActivityCtx = Annotated[ApiContext, Depends(api_call(COSTS["activities"]))]


def sanitize(content: str) -> str:
    return UNSAFE_ATTRS.sub("", UNSAFE_BLOCKS.sub("", content))


def _invalid(field: str, message: str) -> PipedriveError:
    return PipedriveError(400, f"Validation failed: {field}: {message}")


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise PipedriveError(400, "Request body must be valid JSON") from exc
    if not isinstance(body, dict):
        raise PipedriveError(400, "Request body must be a JSON object")
    return body


def _now(ctx: ApiContext) -> str:
    return ctx.pd.sandbox.clock.now().strftime("%Y-%m-%d %H:%M:%S")


def _target(ctx: ApiContext, body: dict[str, Any], name: str) -> int | None:
    raw = body.get(name)
    if raw is None:
        return None
    number = parse_id(str(raw), name)
    kind = {"deal_id": "deal", "person_id": "person", "org_id": "organization"}.get(name)
    if kind is not None:
        item = ctx.data.get(kind, ctx.company_id, number)
        # Another company's deal is simply not there for this token.
        if item is None or item.get("is_deleted"):
            label = {"deal": "Deal", "person": "Person", "organization": "Organization"}[kind]
            raise PipedriveError(404, f"{label} not found")
    return number


def _owner(ctx: ApiContext, raw: Any, name: str) -> int:
    number = parse_id(str(raw), name)
    member = ctx.data.user(number)
    if member is None or int(member["company_id"]) != ctx.company_id:
        raise _invalid(name, "User not found")
    return number


def _create_note(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        raise _invalid("content", "Parameter is required")
    if all(body.get(name) is None for name in TARGETS):
        raise _invalid("deal_id", "One of deal_id, lead_id, person_id, org_id is required")
    needs = ("deals:full",) if body.get("deal_id") is not None else ("contacts:full",)
    if not has_scope(ctx, *needs):
        raise PipedriveError(403, SCOPE_MISMATCH)
    targets = {name: _target(ctx, body, name) for name in TARGETS}
    author = ctx.user["id"]
    if body.get("user_id") is not None:
        author = _owner(ctx, body["user_id"], "user_id")
        if author != ctx.user["id"] and not ctx.user.get("is_admin"):
            raise PipedriveError(403, "Only admins may add notes for other users")
    note_id = ctx.pd.sandbox.store.next_seq("pipedrive:note_seq")
    note = {
        "id": note_id,
        "content": sanitize(content),
        **targets,
        "user_id": author,
        "add_time": _now(ctx),
        "update_time": _now(ctx),
        "active_flag": True,
        "pinned_to_deal_flag": bool(body.get("pinned_to_deal_flag")),
    }
    ctx.data.put("note", ctx.company_id, note)
    return note


def _optional_clock(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not CLOCK.match(value):
        raise _invalid(name, "Parameter must be in HH:MM format")
    return value


def _optional_date(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    text = str(value)
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or len(text) != 10:
        raise _invalid(name, "Parameter must be a date in YYYY-MM-DD format")
    return parsed.isoformat()


def _activity_fields(ctx: ApiContext, body: dict[str, Any], partial: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "subject" in body or not partial:
        subject = body.get("subject")
        if not isinstance(subject, str) or not subject.strip():
            raise _invalid("subject", "Parameter is required")
        fields["subject"] = subject
    if "type" in body or not partial:
        kinds = [key for _, _, key in ACTIVITY_TYPES]
        if body.get("type") not in kinds:
            raise _invalid("type", f"Parameter must be one of {', '.join(kinds)}")
        fields["type"] = body["type"]
    if body.get("owner_id") is not None:
        fields["owner_id"] = _owner(ctx, body["owner_id"], "owner_id")
    for name in ("deal_id", "person_id", "org_id"):
        if name in body:
            fields[name] = _target(ctx, body, name)
    for name in ("due_time", "duration"):
        if name in body:
            fields[name] = _optional_clock(body, name)
    if "due_date" in body:
        fields["due_date"] = _optional_date(body, "due_date")
    for name in ("done", "busy"):
        if name in body:
            if not isinstance(body[name], bool):
                raise _invalid(name, "Parameter must be a boolean")
            fields[name] = body[name]
    if "note" in body:
        note = body["note"]
        if note is not None and not isinstance(note, str):
            raise _invalid("note", "Parameter must be a string")
        fields["note"] = sanitize(note) if note else note
    return fields


def _create_activity(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    if not has_scope(ctx, "activities:full"):
        raise PipedriveError(403, SCOPE_MISMATCH)
    fields = _activity_fields(ctx, body, partial=False)
    activity_id = ctx.pd.sandbox.store.next_seq("pipedrive:activity_seq")
    now = ctx.pd.sandbox.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    activity = {
        "id": activity_id,
        "subject": fields["subject"],
        "type": fields["type"],
        "owner_id": fields.get("owner_id") or ctx.user["id"],
        "creator_user_id": ctx.user["id"],
        "deal_id": fields.get("deal_id"),
        "person_id": fields.get("person_id"),
        "org_id": fields.get("org_id"),
        "lead_id": None,
        "project_id": None,
        "due_date": fields.get("due_date"),
        "due_time": fields.get("due_time"),
        "duration": fields.get("duration"),
        "busy": fields.get("busy", False),
        "done": fields.get("done", False),
        "marked_as_done_time": None,
        "note": fields.get("note"),
        "is_deleted": False,
        "add_time": now,
        "update_time": now,
    }
    if activity["done"]:
        activity["marked_as_done_time"] = now
    ctx.data.put("activity", ctx.company_id, activity)
    return activity


def _update_activity(ctx: ApiContext, raw_id: str, body: dict[str, Any]) -> dict[str, Any]:
    if not has_scope(ctx, "activities:full"):
        raise PipedriveError(403, SCOPE_MISMATCH)
    activity = ctx.data.get("activity", ctx.company_id, parse_id(raw_id, "id"))
    if activity is None or activity["is_deleted"]:
        raise PipedriveError(404, "Activity not found")
    fields = _activity_fields(ctx, body, partial=True)
    now = ctx.pd.sandbox.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    if fields.get("done") and not activity["done"]:
        fields["marked_as_done_time"] = now
    if fields.get("done") is False:
        fields["marked_as_done_time"] = None
    activity.update(fields, update_time=now)
    ctx.data.put("activity", ctx.company_id, activity)
    return activity


def deal_notes(ctx_data: Any, company_id: int, deal_id: int) -> list[dict[str, Any]]:
    notes = [n for n in ctx_data.items("note", company_id) if n.get("deal_id") == deal_id]
    return sorted(notes, key=lambda n: n["id"])


def _sort_value(field: str, note: dict[str, Any]) -> tuple[bool, Any]:
    # Empty values sort before any value, as null does.
    value = note.get(field)
    return (value is not None, value if value is not None else 0)


def sort_notes(notes: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    """v1's ``sort``: "field ASC|DESC" pairs separated by commas, first-level fields of
    ``NOTE_SORT_FIELDS`` only; anything else is a 400, as Pipedrive refuses it."""
    keys: list[tuple[str, bool]] = []
    for part in (sort or "").split(","):
        words = part.split()
        if not words:
            continue
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if words[0] not in NOTE_SORT_FIELDS or direction not in ("ASC", "DESC") or len(words) > 2:
            raise _invalid("sort", f"Invalid sort field or direction: {part.strip()}")
        keys.append((words[0], direction == "DESC"))
    ordered = list(notes)
    # Stable sorts from the last key to the first: the first key decides, the next breaks ties.
    for field, descending in reversed(keys):
        ordered.sort(key=partial(_sort_value, field), reverse=descending)
    return ordered


def deal_activities(ctx_data: Any, company_id: int, deal_id: int) -> list[dict[str, Any]]:
    rows = [a for a in ctx_data.items("activity", company_id) if a.get("deal_id") == deal_id]
    return sorted((a for a in rows if not a["is_deleted"]), key=lambda a: a["id"])


def v1_router() -> APIRouter:
    r = APIRouter()

    @r.post("/notes", status_code=201)
    async def add_note(request: Request, ctx: NoteCtx) -> dict[str, Any]:
        """Add a note to a deal, person or organization (HTML content, sanitized)."""
        return ok(_create_note(ctx, await _json_object(request)))

    @r.get("/notes")
    async def list_notes(
        ctx: NoteCtx,
        deal_id: str | None = None,
        start: str | None = None,
        limit: str | None = None,
        sort: str | None = None,
    ) -> dict[str, Any]:
        if not has_scope(ctx, "deals:read", "deals:full", "contacts:read", "contacts:full"):
            raise PipedriveError(403, SCOPE_MISMATCH)
        if deal_id is not None:
            notes = deal_notes(ctx.data, ctx.company_id, parse_id(deal_id, "deal_id"))
        else:
            notes = sorted(ctx.data.items("note", ctx.company_id), key=lambda n: n["id"])
        page, extra = paginate_v1(sort_notes(notes, sort), start, limit)
        return ok(page, extra)

    @r.get("/activityTypes")
    async def activity_types(ctx: NoteCtx) -> dict[str, Any]:
        rows = [
            {"id": n, "name": name, "key_string": key, "active_flag": True, "is_custom_flag": False}
            for n, name, key in ACTIVITY_TYPES
        ]
        return ok(rows)

    return r


def v2_router() -> APIRouter:
    r = APIRouter()

    @r.post("/activities")
    async def add_activity(request: Request, ctx: ActivityCtx) -> dict[str, Any]:
        return ok(_create_activity(ctx, await _json_object(request)))

    @r.patch("/activities/{activity_id}")
    async def patch_activity(
        request: Request, ctx: ActivityCtx, activity_id: str
    ) -> dict[str, Any]:
        return ok(_update_activity(ctx, activity_id, await _json_object(request)))

    @r.get("/activities")
    async def list_activities(
        ctx: ActivityCtx,
        deal_id: str | None = None,
        done: str | None = None,
        owner_id: str | None = None,
        cursor: str | None = None,
        limit: str | None = None,
    ) -> dict[str, Any]:
        if not has_scope(ctx, "activities:read", "activities:full"):
            raise PipedriveError(403, SCOPE_MISMATCH)
        rows = [a for a in ctx.data.items("activity", ctx.company_id) if not a["is_deleted"]]
        if deal_id is not None:
            wanted = parse_id(deal_id, "deal_id")
            rows = [a for a in rows if a["deal_id"] == wanted]
        if owner_id is not None:
            owner = parse_id(owner_id, "owner_id")
            rows = [a for a in rows if a["owner_id"] == owner]
        if done is not None:
            if done not in ("true", "false"):
                raise _invalid("done", "Parameter must be a boolean")
            rows = [a for a in rows if a["done"] == (done == "true")]
        page, extra = paginate(sorted(rows, key=lambda a: a["id"]), cursor, limit)
        return ok(page, extra)

    return r
