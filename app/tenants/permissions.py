"""What each Pipedrive role of a company may do in the app: the one place that decides.

Roles come from Pipedrive (``users/me``, lifecycle-and-billing.md §3.6): ``admin`` (the
``access[]`` admin flag, ``is_admin`` as a fallback), ``regular`` (everyone else), and, where
an admin gave one rules of its own, ``set:<id>`` for the user's sales permission set. Admins
decide each role's permissions on the Permissions page (``/permissions``); a role with no row
has the defaults: regular users create, submit, email, link and unlink; admins everything.

Every surface asks here: the JSON API and the panel (through the invoice flows) and Pipedrive's
Invoicing extension (which acts for the user who registered its link). A refusal is a 403
naming the permission (``field``), before any outside call. Provider rules still apply on top
(Xero's own role rule decides whether the connection may approve at all).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Forbidden
from app.tenants.models import CrmUser, RolePermissions


class Permission(StrEnum):
    create = "create"
    submit = "submit"
    approve = "approve"
    void = "void"
    delete = "delete"
    email = "email"
    credit = "credit"
    link = "link"
    unlink = "unlink"
    preferences = "preferences"


LABELS: dict[Permission, str] = {
    Permission.create: "Create invoices",
    Permission.submit: "Submit for approval",
    Permission.approve: "Approve",
    Permission.void: "Void",
    Permission.delete: "Delete",
    Permission.email: "Email to the customer",
    Permission.credit: "Credit (credit notes)",
    Permission.link: "Link invoices, contacts and items",
    Permission.unlink: "Unlink invoices, contacts and items",
    Permission.preferences: "Change preferences",
}

ADMIN = "admin"
REGULAR = "regular"
SET_PREFIX = "set:"

ALL = frozenset(Permission)
DEFAULTS: dict[str, frozenset[Permission]] = {
    ADMIN: ALL,
    REGULAR: frozenset(
        {Permission.create, Permission.submit, Permission.email, Permission.link, Permission.unlink}
    ),
}


def role_of(user: CrmUser) -> str:
    """``admin`` or ``regular`` (a permission set refines ``regular``: see ``roles_of``)."""
    return ADMIN if user.is_admin else REGULAR


def roles_of(user: CrmUser) -> list[str]:
    """The roles that may hold rules for this user, the most specific first."""
    if user.is_admin:
        return [ADMIN]
    if user.permission_set_id:
        return [SET_PREFIX + user.permission_set_id, REGULAR]
    return [REGULAR]


def defaults_for(role: str) -> frozenset[Permission]:
    """A role's permissions when no admin chose them (a permission set: regular's)."""
    return DEFAULTS.get(role, DEFAULTS[REGULAR])


def parse(names: Iterable[str]) -> frozenset[Permission]:
    """Known permission names only (a stored name no longer known is ignored)."""
    known = {p.value for p in Permission}
    return frozenset(Permission(n) for n in names if n in known)


async def company_rules(session: AsyncSession, company_id: str) -> dict[str, frozenset[Permission]]:
    """Every role an admin chose permissions for, in this company."""
    rows = (
        await session.execute(
            select(RolePermissions).where(RolePermissions.company_id == company_id)
        )
    ).scalars()
    return {row.role: parse(row.permissions) for row in rows}


async def permissions_of(session: AsyncSession, user: CrmUser) -> frozenset[Permission]:
    """What ``user`` may do: the rules of their most specific role that has any, else the
    defaults of their role. Cached on the user object for the request."""
    cached: frozenset[Permission] | None = getattr(user, "_permissions_cache", None)
    if cached is not None:
        return cached
    roles = roles_of(user)
    rows = {
        row.role: parse(row.permissions)
        for row in (
            await session.execute(
                select(RolePermissions).where(
                    RolePermissions.company_id == user.company_id,
                    RolePermissions.role.in_(roles),
                )
            )
        ).scalars()
    }
    chosen = next((rows[r] for r in roles if r in rows), defaults_for(roles[-1]))
    user._permissions_cache = chosen  # type: ignore[attr-defined]
    return chosen


def forget(user: CrmUser) -> None:
    """Drop the request's cached permissions (after an admin changed them)."""
    if hasattr(user, "_permissions_cache"):
        del user._permissions_cache


def refusal(permission: Permission) -> Forbidden:
    """The 403 for a missing permission, naming it."""
    return Forbidden(
        f"Your Pipedrive role lacks the {permission.value} permission "
        f"({LABELS[permission].lower()}). Ask a Pipedrive admin of your company to allow it "
        "on the app's Permissions page.",
        field=permission.value,
        code="permission_denied",
        extra={"permission": permission.value},
    )


async def require(session: AsyncSession, user: CrmUser, permission: Permission) -> None:
    """403 naming ``permission`` unless ``user`` has it."""
    if permission not in await permissions_of(session, user):
        raise refusal(permission)


async def may(session: AsyncSession, user: CrmUser, permission: Permission) -> bool:
    return permission in await permissions_of(session, user)


async def set_role_permissions(
    session: AsyncSession,
    company_id: str,
    role: str,
    permissions: Iterable[Permission],
    by_user_id: str | None,
) -> None:
    """Store what ``role`` may do in the company (the session is flushed, not committed)."""
    row = await session.get(RolePermissions, (company_id, role))
    names = sorted(p.value for p in permissions)
    if row is None:
        row = RolePermissions(company_id=company_id, role=role)
        session.add(row)
    row.permissions = names
    row.updated_at = utcnow()
    row.updated_by_user_id = by_user_id
    await session.flush()
