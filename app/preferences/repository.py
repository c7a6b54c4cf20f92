from __future__ import annotations

from app.preferences.models import InvoicingPreference
from app.tenants.repository import CompanyScopedRepository


class PreferenceRepository(CompanyScopedRepository[InvoicingPreference]):
    model = InvoicingPreference
    not_found_message = "preferences not found"

    async def by_provider(self, provider: str) -> InvoicingPreference | None:
        result = await self.session.execute(
            self.select().where(InvoicingPreference.provider == provider)
        )
        row: InvoicingPreference | None = result.scalar_one_or_none()
        return row
