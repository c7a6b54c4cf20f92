"""The preferences JSON API: read (any user of the company), write (admins only)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.connections.clock import company_timezone
from app.crm.pipedrive.schemas import PipedriveId
from app.crm.pipedrive.service import company_client, company_fields
from app.errors import AppError
from app.preferences.choices import checked, given, provider_choices
from app.preferences.schemas import (
    CrmFieldsOut,
    PreferencesIn,
    PreferencesOut,
    PreviewOut,
    Provider,
)
from app.preferences.service import (
    Definitions,
    crm_fields,
    describe_preferences,
    load_preferences,
    preview,
    save_preferences,
    validate_mapping,
)
from app.tenants.clock import today_in
from app.tenants.dependencies import CurrentUser
from app.tenants.permissions import Permission, require
from app.web import DbSession

router = APIRouter(prefix="/api/v1", tags=["preferences"])


async def fields_or_none(
    request: Request, session: DbSession, user: CurrentUser
) -> Definitions | None:
    """Field definitions for display purposes; None when Pipedrive cannot be asked now."""
    try:
        return await company_fields(request, session, user.company_id, user.id)
    except AppError:
        return None


@router.get("/crm/fields", response_model=CrmFieldsOut)
async def list_crm_fields(request: Request, session: DbSession, user: CurrentUser) -> CrmFieldsOut:
    """Organization, person and deal fields (custom ones included), live from Pipedrive."""
    definitions = await company_fields(request, session, user.company_id, user.id)
    return crm_fields(definitions)


@router.get("/preferences/{provider}", response_model=PreferencesOut)
async def get_preferences(
    provider: Provider, request: Request, session: DbSession, user: CurrentUser
) -> PreferencesOut:
    """The company's preferences for the provider, or the suggested ones if none are saved.
    Fields deleted in Pipedrive since are flagged (``status: deleted`` and a warning)."""
    definitions = await fields_or_none(request, session, user)
    prefs, row = await load_preferences(session, user.company_id, provider, definitions)
    return describe_preferences(provider, prefs, definitions, row)


@router.put("/preferences/{provider}", response_model=PreferencesOut)
async def put_preferences(
    provider: Provider,
    body: PreferencesIn,
    request: Request,
    session: DbSession,
    admin: CurrentUser,
) -> PreferencesOut:
    """Save the preferences (roles with the ``preferences`` permission: admins by default).
    Every field is checked against Pipedrive's live definitions, and the tax rate, revenue
    account and template against the connected provider's lists; a missing one is a 422 naming
    it and nothing is saved."""
    await require(session, admin, Permission.preferences)
    definitions = await company_fields(request, session, admin.company_id, admin.id)
    validate_mapping(body, definitions)  # Pipedrive's fields first, then the provider's lists
    if given(body.defaults):
        # Tax rate, revenue account and template must be in the provider's own lists.
        stored, _ = await load_preferences(session, admin.company_id, provider, definitions)
        choices = await provider_choices(request, session, admin.company_id, provider)
        body = checked(body, choices, stored.defaults)
    row = await save_preferences(session, admin.company_id, provider, body, definitions, admin.id)
    return describe_preferences(provider, body, definitions, row)


@router.get("/preferences/{provider}/preview", response_model=PreviewOut)
async def preview_preferences(
    provider: Provider,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    deal_id: Annotated[PipedriveId | None, Query()] = None,
    invoice_date: date | None = None,
) -> PreviewOut:
    """What the saved preferences yield: the due date of an invoice issued on ``invoice_date``
    (today by default) and, with ``deal_id``, the customer fields for that deal."""
    definitions = await company_fields(request, session, user.company_id, user.id)
    prefs, _ = await load_preferences(session, user.company_id, provider, definitions)
    data = None
    if deal_id is not None:
        client = await company_client(request, session, user.company_id, user.id)
        data = await client.deal_data(deal_id)
    today = today_in(await company_timezone(session, user.company_id))
    return preview(provider, prefs, invoice_date or today, data, definitions)
