"""Pipedrive's jobs: registering the company's webhook subscriptions (see subscriptions.py)."""

from __future__ import annotations

from app.crm.pipedrive.service import client_for
from app.crm.pipedrive.subscriptions import REGISTER_JOB, register, registering_install
from app.logs import log
from app.worker.registry import JobContext, job


@job(REGISTER_JOB)
async def register_webhooks(ctx: JobContext, installation_id: str) -> None:
    """Register what the company is missing, through an admin's install if there is one.

    Idempotent: registered subscriptions are skipped and ones Pipedrive already has are reused.
    Pipedrive unavailable or rate-limited raises, and the worker retries with backoff.
    """
    if ctx.company_id is None:
        return
    installation = await registering_install(ctx.session, ctx.company_id, installation_id)
    if installation is None:
        # Everyone with the admin scope has uninstalled since: the next install records a job.
        log.info("pipedrive_webhooks_no_install", company_id=ctx.company_id)
        return
    state = ctx.state
    client = client_for(state.http, state.settings, state.sessionmaker, installation.id)
    await register(ctx.session, client, state.settings, installation)
