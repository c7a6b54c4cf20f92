"""The one point where a user-facing action on a deal's invoices asks whether the user may do
it, by the user's role (app/tenants/permissions.py), so the panel, the JSON API and the
extension ask the same question.

Permission names used here: ``link`` (link an invoice to a deal), ``unlink`` (unlink an
invoice from a deal, or the deal's contact). Refreshing needs none.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.invoices.context import InvoiceContext
from app.tenants import permissions
from app.tenants.permissions import Permission

LINK = "link"
UNLINK = "unlink"


async def require(ctx: InvoiceContext, session: AsyncSession, permission: str) -> None:
    """Refuse (403 naming ``permission``) when the user's role may not."""
    await permissions.require(session, ctx.user, Permission(permission))
