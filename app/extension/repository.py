"""Finding the invoicing link a Pipedrive call names, and who acts for it."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.extension.models import InvoicingLink
from app.tenants.models import CrmUser


def valid_uuid(text: str) -> bool:
    """Whether ``text`` is a UUID in its canonical lower-case spelling."""
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


async def find_link(session: AsyncSession, link_id: str) -> InvoicingLink:
    """The link, or 404 (a malformed id is simply unknown)."""
    row = None
    if valid_uuid(link_id):
        row = (
            await session.execute(select(InvoicingLink).where(InvoicingLink.link_id == link_id))
        ).scalar_one_or_none()
    if row is None:
        raise NotFound("There is no invoicing link with this id.", field="linkId")
    return row


async def link_for(session: AsyncSession, company_id: str, provider: str) -> InvoicingLink | None:
    """The company's link for this provider, if it has one."""
    row: InvoicingLink | None = (
        await session.execute(
            select(InvoicingLink).where(
                InvoicingLink.company_id == company_id,
                InvoicingLink.provider == provider,
            )
        )
    ).scalar_one_or_none()
    return row


async def acting_user(session: AsyncSession, link: InvoicingLink) -> CrmUser:
    """The admin who registered the link; if they left, another admin, else anyone."""
    if link.user_id:
        user = await session.get(CrmUser, link.user_id)
        if user is not None:
            return user
    users = (
        (await session.execute(select(CrmUser).where(CrmUser.company_id == link.company_id)))
        .scalars()
        .all()
    )
    if not users:
        raise NotFound("There is no invoicing link with this id.", field="linkId")
    return sorted(users, key=lambda u: not u.is_admin)[0]
