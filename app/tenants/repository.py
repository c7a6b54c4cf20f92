"""Repositories that can only see one company's rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Base
from app.errors import NotFound
from app.tenants.models import CrmUser

M = TypeVar("M", bound=Base)


class CompanyScopedRepository(Generic[M]):
    """Base for every tenant-owned model: built with a company id, every query filters by it.

    A row of another company is indistinguishable from a missing row (404), by construction.
    """

    model: ClassVar[type[Any]]
    not_found_message: ClassVar[str] = "not found"

    def __init__(self, session: AsyncSession, company_id: str) -> None:
        self.session = session
        self.company_id = company_id

    def select(self) -> Select[Any]:
        return select(self.model).where(self.model.company_id == self.company_id)

    async def get(self, id_: Any) -> M | None:
        result = await self.session.execute(self.select().where(self.model.id == id_))
        row: M | None = result.scalar_one_or_none()
        return row

    async def get_or_404(self, id_: Any) -> M:
        row = await self.get(id_)
        if row is None:
            raise NotFound(self.not_found_message)
        return row

    async def list(self, *criteria: Any) -> Sequence[M]:
        result = await self.session.execute(self.select().where(*criteria))
        rows: Sequence[M] = result.scalars().all()
        return rows

    def add(self, row: M) -> M:
        if getattr(row, "company_id", None) not in (None, self.company_id):
            raise ValueError("row belongs to another company")
        row.company_id = self.company_id  # type: ignore[attr-defined]
        self.session.add(row)
        return row

    async def delete(self, row: M) -> None:
        await self.session.delete(row)


class UserRepository(CompanyScopedRepository[CrmUser]):
    model = CrmUser
    not_found_message = "user not found"

    async def by_pipedrive_id(self, pipedrive_user_id: int) -> CrmUser | None:
        result = await self.session.execute(
            self.select().where(CrmUser.pipedrive_user_id == pipedrive_user_id)
        )
        user: CrmUser | None = result.scalar_one_or_none()
        return user
