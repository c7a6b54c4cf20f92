"""A company installed through the sandbox Pipedrive with the sandbox Xero and QuickBooks
connected, over real HTTP: the world every invoices test starts from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from app.crm.pipedrive.client import FieldDefinitionCache
from app.crm.pipedrive.subscriptions import REGISTER_JOB
from app.invoices.context import MetaCache
from app.tenants.models import CrmUser
from app.worker.models import Job
from tests.connections.conftest import Flow, flow  # noqa: F401 - fixture
from tests.crm.pipedrive.test_sandbox_flows import install_through_sandbox
from tests.invoices.helpers import until


@dataclass
class Company:
    user: CrmUser
    headers: dict[str, str]


@pytest.fixture(autouse=True)
def _fresh_caches(app: Any) -> None:
    app.state.pipedrive_fields = FieldDefinitionCache()
    app.state.invoice_meta = MetaCache()
    # Fresh adapters: their per-tenant rate limiters would otherwise carry Xero's 60 calls a
    # minute across tests, while the sandbox starts every test afresh.
    app.state.providers = None


async def installed(client: Any, sandbox: Any, sessionmaker: Any, user_id: int) -> Company:
    _, headers = await install_through_sandbox(client, sandbox, user_id)
    await registered(sessionmaker)
    async with sessionmaker() as session:
        user = (
            await session.execute(select(CrmUser).where(CrmUser.pipedrive_user_id == user_id))
        ).scalar_one()
    return Company(user=user, headers=headers)


async def registered(sessionmaker: Any) -> None:
    """The install's webhook registration job has run: it calls Pipedrive in the background,
    and a test that counts the calls it causes would otherwise see them."""

    async def idle() -> bool:
        async with sessionmaker() as session:
            busy = await session.scalars(
                select(Job.id).where(
                    Job.name == REGISTER_JOB, Job.status.in_(("pending", "running"))
                )
            )
            return not busy.all()

    await until(idle, timeout=30)


@pytest.fixture
async def northwind(client: Any, sandbox: Any, sessionmaker: Any, flow: Flow) -> Company:  # noqa: F811
    """Company 7001 (admin 101) with Xero (NZ org) and QuickBooks connected."""
    company = await installed(client, sandbox, sessionmaker, 101)
    done = await flow.xero(company.user)
    assert done.status_code in (200, 303), done.text
    done = await flow.quickbooks(company.user)
    assert done.status_code in (200, 303), done.text
    return company


@pytest.fixture
async def contoso(client: Any, sandbox: Any, sessionmaker: Any) -> Company:
    """Company 7002 (admin 201), installed, nothing connected."""
    return await installed(client, sandbox, sessionmaker, 201)
