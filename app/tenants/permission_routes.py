"""The Permissions page (admins: what each Pipedrive role may do) and its JSON API.

``GET /permissions`` shows one column per role (admin, regular user, and each Pipedrive
permission set that a user of the company has), one row per permission; ``POST /permissions``
saves them all. ``/api/v1/permissions`` answers the caller's own role and permissions;
``/api/v1/permissions/roles`` (admins) lists every role's and ``PUT .../roles/{role}`` sets one.
The page and the API are for Pipedrive admins whatever the rules say, so an admin can always
undo a choice.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from app.errors import ValidationFailed
from app.tenants.dependencies import CurrentAdmin, CurrentUser, PageAdmin
from app.tenants.models import CrmUser
from app.tenants.permissions import (
    ADMIN,
    LABELS,
    REGULAR,
    SET_PREFIX,
    Permission,
    company_rules,
    defaults_for,
    forget,
    permissions_of,
    roles_of,
    set_role_permissions,
)
from app.web import DbSession, render

router = APIRouter(tags=["permissions"])

# ``admin``, ``regular`` or ``set:`` and a Pipedrive permission set id.
ROLE_PATTERN = r"^(admin|regular|set:[A-Za-z0-9_-]{1,64})$"
RoleName = Annotated[str, Path(pattern=ROLE_PATTERN, max_length=80)]


class MyPermissionsOut(BaseModel):
    role: str
    permissions: list[Permission]


class RoleOut(BaseModel):
    role: str
    label: str
    permissions: list[Permission]
    customised: bool


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    permissions: list[Permission]


def role_label(role: str) -> str:
    if role == ADMIN:
        return "Admins"
    if role == REGULAR:
        return "Regular users"
    return f"Permission set {role.removeprefix(SET_PREFIX)}"


async def company_roles(session: Any, company_id: str) -> list[RoleOut]:
    """Admin, regular, then every permission set a regular user has or that has rules."""
    rules = await company_rules(session, company_id)
    sets = set(
        (
            await session.execute(
                select(CrmUser.permission_set_id).where(
                    CrmUser.company_id == company_id,
                    CrmUser.is_admin.is_(False),
                    CrmUser.permission_set_id.is_not(None),
                )
            )
        )
        .scalars()
        .all()
    )
    named = {SET_PREFIX + s for s in sets} | {r for r in rules if r.startswith(SET_PREFIX)}
    roles = [ADMIN, REGULAR, *sorted(named)]
    return [
        RoleOut(
            role=role,
            label=role_label(role),
            permissions=sorted(rules.get(role, defaults_for(role))),
            customised=role in rules,
        )
        for role in roles
    ]


# --- JSON API --------------------------------------------------------------------------------


@router.get("/api/v1/permissions", response_model=MyPermissionsOut)
async def my_permissions(user: CurrentUser, session: DbSession) -> MyPermissionsOut:
    """The caller's role and what it may do."""
    return MyPermissionsOut(
        role=roles_of(user)[0], permissions=sorted(await permissions_of(session, user))
    )


@router.get("/api/v1/permissions/roles", response_model=list[RoleOut])
async def list_roles(admin: CurrentAdmin, session: DbSession) -> list[RoleOut]:
    """Every role of the company and what it may do (admins)."""
    return await company_roles(session, admin.company_id)


@router.put("/api/v1/permissions/roles/{role}", response_model=RoleOut)
async def put_role(
    role: RoleName, body: RoleIn, admin: CurrentAdmin, session: DbSession
) -> RoleOut:
    """Set what one role may do (admins); the others keep theirs."""
    await set_role_permissions(session, admin.company_id, role, body.permissions, admin.id)
    forget(admin)
    return RoleOut(
        role=role,
        label=role_label(role),
        permissions=sorted(set(body.permissions)),
        customised=True,
    )


# --- The page --------------------------------------------------------------------------------


def page(request: Request, admin: CrmUser, roles: list[RoleOut], **extra: Any) -> Response:
    return render(
        request,
        extra.pop("template", "tenants/permissions.html"),
        extra.pop("status_code", 200),
        admin=admin,
        roles=roles,
        permissions=list(Permission),
        labels=LABELS,
        session_token=getattr(request.state, "session_token", None),
        **extra,
    )


@router.get("/permissions", include_in_schema=False)
async def permissions_page(request: Request, admin: PageAdmin, session: DbSession) -> Response:
    """What each Pipedrive role may do, as checkboxes (admins)."""
    return page(request, admin, await company_roles(session, admin.company_id))


@router.post("/permissions", include_in_schema=False)
async def save_permissions(request: Request, admin: PageAdmin, session: DbSession) -> Response:
    """Save every role shown on the page (its checked boxes), then the form again."""
    form = await request.form()
    shown = [str(r) for r in form.getlist("roles")]
    if not shown or any(not re.match(ROLE_PATTERN, r) for r in shown):
        raise ValidationFailed("The form names no role, or one that is not a role.", field="roles")
    checked = {str(v) for v in form.getlist("allow")}
    for role in shown:
        chosen = [p for p in Permission if f"{role}:{p.value}" in checked]
        await set_role_permissions(session, admin.company_id, role, chosen, admin.id)
    forget(admin)
    return page(
        request,
        admin,
        await company_roles(session, admin.company_id),
        template="tenants/_permissions_form.html",
        notice="Saved. Everyone's panel offers what their role may do from their next click.",
    )
