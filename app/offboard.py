"""Vendor-side uninstall: delete one company's data on request (``invoicing purge-company``).

The same purge as when the company's last user uninstalls (``tenants.service.purge_company``
with every before-purge hook: provider tokens revoked, Pipedrive webhooks deleted), then the
company's Pipedrive tokens are revoked too, which uninstalls the app at Pipedrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.crm.pipedrive.models import PipedriveInstallation
from app.crm.pipedrive.oauth import PipedriveOAuth
from app.db import create_engine, create_sessionmaker
from app.errors import AppError, NotFound
from app.logs import log
from app.main import create_app
from app.tenants.models import Company
from app.tenants.service import purge_company


@dataclass
class Offboarded:
    company_name: str
    deleted: dict[str, int]
    pipedrive_tokens_revoked: int = 0
    pipedrive_revoke_failures: list[str] = field(default_factory=list)


async def find_company(session: AsyncSession, ref: str) -> Company:
    """A company by our id, its Pipedrive company id or its Pipedrive domain."""
    clauses = [Company.id == ref, Company.domain == ref]
    if ref.isdigit():
        clauses.append(Company.pipedrive_company_id == int(ref))
    for clause in clauses:
        company = (await session.execute(select(Company).where(clause))).scalar_one_or_none()
        if company is not None:
            return company
    raise NotFound(f"no company {ref!r} (give our id, the Pipedrive company id or its domain)")


async def offboard_company(settings: Settings, ref: str) -> Offboarded:
    """Purge the company (hooks first, one transaction), then revoke its Pipedrive tokens."""
    create_app(settings)  # registers the before-purge hooks and the token keys, as in serving
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            company = await find_company(session, ref)
            name = company.name
            installs = (
                await session.execute(
                    select(PipedriveInstallation).where(
                        PipedriveInstallation.company_id == company.id
                    )
                )
            ).scalars()
            tokens = [i.refresh_token for i in installs if i.refresh_token]
            deleted = await purge_company(session, company)
            await session.commit()
    finally:
        await engine.dispose()
    result = Offboarded(company_name=name, deleted=deleted)
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(10.0, connect=5.0)) as http:
        oauth = PipedriveOAuth(http, settings)
        for token in tokens:
            try:
                await oauth.revoke(token)
                result.pipedrive_tokens_revoked += 1
            except (AppError, httpx2.HTTPError) as exc:
                result.pipedrive_revoke_failures.append(str(exc) or type(exc).__name__)
    log.info(
        "company_offboarded",
        revoked=result.pipedrive_tokens_revoked,
        revoke_failures=len(result.pipedrive_revoke_failures),
    )
    return result
