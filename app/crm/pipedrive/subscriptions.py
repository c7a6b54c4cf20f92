"""The company's webhook subscriptions at Pipedrive: registered once per company, again when the
install that made them leaves, deleted when the company leaves.

Pipedrive's app webhooks (reference pipedrive.md §6, lifecycle-and-billing.md §3.1) need the
``admin`` scope and a ``name``, are made with one user's token, and are deleted by Pipedrive
when that user uninstalls. So:

- an install with the ``admin`` scope records a ``pipedrive.register_webhooks`` job (in the
  install's transaction) unless the company's subscriptions are all registered;
- the job registers what is missing through an admin's install, reusing a subscription
  Pipedrive already has (a retry after a lost answer must not subscribe twice);
- when the install that registered them is uninstalled and others remain, the rows go back to
  pending and the job runs again through another install;
- when the company's last user leaves, a before-purge hook deletes them at Pipedrive, best
  effort (Pipedrive deletes app webhooks on uninstall anyway).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.crm.pipedrive.client import PipedriveClient
from app.crm.pipedrive.errors import PipedriveAuthError, PipedriveForbidden
from app.crm.pipedrive.models import PipedriveInstallation, PipedriveWebhook, WebhookState
from app.crm.pipedrive.schemas import Webhook, WebhookIn
from app.crm.pipedrive.tokens import Credentials
from app.errors import AppError
from app.logs import log
from app.tenants.models import Company, CrmUser
from app.worker.outbox import enqueue

REGISTER_JOB = "pipedrive.register_webhooks"
WEBHOOK_NAME = "CRM Invoicing"
# (event_object, event_action): a deal's every change (won, value, deletion), its products
# (deal_product, since 2026-05-21) and the product catalogue's changes.
SUBSCRIPTIONS: tuple[tuple[str, str], ...] = (
    ("deal", "*"),
    ("deal_product", "*"),
    ("product", "change"),
)


def subscription_url(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/webhooks/pipedrive"


def has_admin_scope(scopes: str) -> bool:
    """Pipedrive lists granted scopes comma-separated; our own settings use spaces."""
    return "admin" in re.split(r"[\s,]+", scopes or "")


async def _rows(session: AsyncSession, company_id: str) -> dict[str, PipedriveWebhook]:
    rows = await session.scalars(
        select(PipedriveWebhook).where(PipedriveWebhook.company_id == company_id)
    )
    return {row.event_object: row for row in rows}


def _missing(rows: dict[str, PipedriveWebhook]) -> list[tuple[str, str]]:
    return [
        (obj, action)
        for obj, action in SUBSCRIPTIONS
        if obj not in rows or rows[obj].state != WebhookState.registered.value
    ]


async def request_registration(session: AsyncSession, installation: PipedriveInstallation) -> bool:
    """At install: record the registration job unless nothing is missing or this install
    cannot register (no ``admin`` scope: Pipedrive would refuse). Returns whether recorded."""
    if not has_admin_scope(installation.scopes):
        return False
    if not _missing(await _rows(session, installation.company_id)):
        return False
    await enqueue(
        session, REGISTER_JOB, company_id=installation.company_id, installation_id=installation.id
    )
    return True


async def registering_install(
    session: AsyncSession, company_id: str, preferred_id: str | None
) -> PipedriveInstallation | None:
    """An install with the ``admin`` scope, an admin's first (Pipedrive filters a webhook's
    events by its user's permissions), then the preferred one."""
    result = await session.execute(
        select(PipedriveInstallation, CrmUser.is_admin)
        .join(CrmUser, CrmUser.id == PipedriveInstallation.user_id)
        .where(PipedriveInstallation.company_id == company_id)
    )
    able = [(row, bool(admin)) for row, admin in result.all() if has_admin_scope(row.scopes)]
    able.sort(key=lambda pair: (not pair[1], pair[0].id != preferred_id))
    return able[0][0] if able else None


def _row(
    session: AsyncSession, rows: dict[str, PipedriveWebhook], company_id: str, obj: str, action: str
) -> PipedriveWebhook:
    row = rows.get(obj)
    if row is None:
        row = rows[obj] = PipedriveWebhook(company_id=company_id, event_object=obj)
        session.add(row)
    row.event_action = action
    return row


async def register(
    session: AsyncSession,
    client: PipedriveClient,
    settings: Settings,
    installation: PipedriveInstallation,
) -> list[str]:
    """Register the company's missing subscriptions through ``installation``; returns the
    event objects registered now. Pipedrive refusing for good (a missing scope, a dead
    install) is recorded on the rows; anything else raises, and the job retries."""
    company_id = installation.company_id
    rows = await _rows(session, company_id)
    missing = _missing(rows)
    if not missing:
        return []
    url = subscription_url(settings)
    made: dict[str, Webhook] = {}
    try:
        existing = await client.webhooks()
        for obj, action in missing:
            same = (obj, action, url)
            found = next(
                (
                    w
                    for w in existing
                    if (w.event_object, w.event_action, w.subscription_url) == same
                ),
                None,
            )
            made[obj] = found or await client.create_webhook(
                WebhookIn(
                    subscription_url=url,
                    event_action=action,
                    event_object=obj,
                    name=WEBHOOK_NAME,
                    http_auth_user=settings.pipedrive.webhook_user,
                    http_auth_password=settings.pipedrive.webhook_password,
                )
            )
    except (PipedriveForbidden, PipedriveAuthError) as exc:
        log.warning("pipedrive_webhooks_refused", company_id=company_id, error=exc.message)
        for obj, action in missing:
            row = _row(session, rows, company_id, obj, action)
            row.state, row.installation_id = WebhookState.refused.value, installation.id
            row.last_error = exc.message[:500]
        return []
    for obj, action in missing:
        row = _row(session, rows, company_id, obj, action)
        row.state, row.webhook_id = WebhookState.registered.value, made[obj].id
        row.installation_id, row.last_error = installation.id, ""
    log.info("pipedrive_webhooks_registered", company_id=company_id, objects=sorted(made))
    return sorted(made)


async def after_uninstall(session: AsyncSession, company_id: str, installation_id: str) -> bool:
    """A user whose install registered the subscriptions left, others stay: Pipedrive deleted
    those subscriptions with the install, so register them again through another install."""
    rows = await _rows(session, company_id)
    mine = [row for row in rows.values() if row.installation_id == installation_id]
    if not mine:
        return False
    for row in mine:
        row.state, row.webhook_id, row.installation_id = WebhookState.pending.value, None, None
    await session.flush()
    others = await session.scalars(
        select(PipedriveInstallation.id).where(
            PipedriveInstallation.company_id == company_id,
            PipedriveInstallation.id != installation_id,
        )
    )
    for other in others:
        installation = await session.get(PipedriveInstallation, other)
        if installation is not None and has_admin_scope(installation.scopes):
            await enqueue(session, REGISTER_JOB, company_id=company_id, installation_id=other)
            return True
    return False


@dataclass(frozen=True)
class _StoredToken:
    """The install's current access token as stored: a purge refreshes nothing."""

    credentials: Credentials

    async def current(self) -> Credentials:
        return self.credentials

    async def after_rejection(self, rejected: str) -> Credentials:
        raise PipedriveAuthError("Pipedrive no longer accepts this install's token")


async def delete_registered(
    session: AsyncSession, http: httpx2.AsyncClient, company: Company
) -> int:
    """Delete the company's registered subscriptions at Pipedrive; returns how many went.
    Best effort: each failure is logged and the rest go on."""
    rows = [
        row
        for row in (await _rows(session, company.id)).values()
        if row.state == WebhookState.registered.value and row.webhook_id
    ]
    if not rows:
        return 0
    installs = (
        await session.scalars(
            select(PipedriveInstallation).where(PipedriveInstallation.company_id == company.id)
        )
    ).all()
    # The install that made them first: app webhooks belong to their maker.
    installs = sorted(installs, key=lambda i: i.id != rows[0].installation_id)
    if not installs:
        return 0
    install = installs[0]
    token = _StoredToken(Credentials(install.access_token, install.api_domain, 0))
    client = PipedriveClient(http, token)
    deleted = 0
    for row in rows:
        try:
            await client.delete_webhook(int(row.webhook_id or 0))
            deleted += 1
        except AppError as exc:
            log.warning("pipedrive_webhook_delete_failed", company_id=company.id, error=exc.message)
    return deleted


def webhooks_purge_hook() -> Callable[[AsyncSession, Company], Awaitable[None]]:
    """A before-company-purge hook (``app.tenants.service.register_before_purge``) deleting the
    company's webhook subscriptions at Pipedrive while its tokens are still in the database."""

    async def hook(session: AsyncSession, company: Company) -> None:
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(10.0, connect=5.0)) as http:
            await delete_registered(session, http, company)

    return hook
