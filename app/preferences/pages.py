"""The preferences page (Jinja2 + htmx): one page, partial updates, no full reloads."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from app.connections.clock import company_timezone
from app.crm.pipedrive.schemas import DealData
from app.crm.pipedrive.service import company_client, company_fields
from app.errors import AppError, ValidationFailed
from app.preferences.choices import canonical, choice_problems, provider_choices
from app.preferences.due_dates import DueRule, Terms, describe
from app.preferences.messages import validation_messages
from app.preferences.resolution import ENTITY_LABELS, TARGET_LABELS, TARGETS
from app.preferences.schemas import PROVIDERS, PreferencesIn, Provider
from app.preferences.service import (
    Definitions,
    describe_preferences,
    is_mappable,
    load_preferences,
    mapping_problems,
    preview,
    save_preferences,
)
from app.tenants.clock import today_in
from app.tenants.dependencies import PageUser
from app.tenants.models import CrmUser
from app.tenants.permissions import Permission, may, refusal
from app.web import DbSession, render


async def company_day(session: AsyncSession, company_id: str) -> date:
    """Today in the company's one timezone (the dialog's issue date is the same day)."""
    return today_in(await company_timezone(session, company_id))


router = APIRouter(include_in_schema=False)

RULE_LABELS = {
    DueRule.days_after_invoice: "days after the invoice date",
    DueRule.days_after_end_of_month: "days after the end of the invoice month",
    DueRule.day_of_current_month: "day of the invoice month",
    DueRule.day_of_following_month: "day of the following month",
}
PROVIDER_LABELS = {"xero": "Xero", "quickbooks": "QuickBooks Online"}
TAX_MODES = {"exclusive": "Tax exclusive", "inclusive": "Tax inclusive", "no_tax": "No tax"}


def _provider(value: str | None) -> Provider:
    return "quickbooks" if value == "quickbooks" else "xero"


def form_to_input(form: FormData) -> PreferencesIn:
    """The page's form as the API's input model (same validation, same messages)."""

    def ref(name: str) -> dict[str, str] | None:
        value = str(form.get(name) or "")
        entity, sep, key = value.partition(":")
        return {"entity": entity, "key": key} if sep else None

    def text(name: str) -> str | None:
        value = form.get(name)
        return str(value) if value is not None else None

    days_text = str(form.get("due_days") or "").strip()
    try:
        days: Any = int(days_text)
    except ValueError:
        days = days_text
    return PreferencesIn.model_validate(
        {
            "mapping": {target: ref(target) for target in TARGETS},
            "due_terms": {
                "rule": text("due_rule") or DueRule.days_after_invoice.value,
                "days": days,
                "use_contact_terms": form.get("use_contact_terms") == "on",
            },
            "defaults": {
                "tax_mode": text("tax_mode") or "exclusive",
                "tax_rate": text("tax_rate"),
                "revenue_account": text("revenue_account"),
                "template": text("template"),
                "update_customer_info": form.get("update_customer_info") == "on",
                "reference_template": text("reference_template") or "{deal_title}",
            },
        }
    )


async def _definitions(request: Request, session: DbSession, user: CrmUser) -> Definitions | None:
    try:
        return await company_fields(request, session, user.company_id, user.id)
    except AppError:
        return None


async def _sample(
    request: Request, session: DbSession, user: CrmUser, deal_id: int | None
) -> tuple[DealData | None, str | None]:
    if deal_id is None:
        return None, None
    try:
        client = await company_client(request, session, user.company_id, user.id)
        return await client.deal_data(deal_id), None
    except AppError as exc:
        return None, f"Deal {deal_id} could not be read from Pipedrive: {exc.message}"


async def _deals(request: Request, session: DbSession, user: CrmUser) -> list[dict[str, Any]]:
    try:
        client = await company_client(request, session, user.company_id, user.id)
        return [{"id": d.id, "title": d.title} for d in await client.deals(limit=25)]
    except AppError:
        return []


def _field_groups(definitions: Definitions | None) -> list[dict[str, Any]]:
    groups = []
    for entity, label in ENTITY_LABELS.items():
        fields = [d for d in (definitions or {}).get(entity, ()) if is_mappable(d)]
        groups.append({"entity": entity, "label": label, "fields": fields})
    return groups


def _int_or_none(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


async def build_context(
    request: Request,
    session: DbSession,
    user: CrmUser,
    provider: Provider,
    prefs: PreferencesIn,
    definitions: Definitions | None,
    row: Any,
    sample_id: int | None,
    **extra: Any,
) -> dict[str, Any]:
    """Everything the form and its preview need (``choices``: the provider's lists, when the
    caller has read them already)."""
    choices = extra.pop("choices", None) or await provider_choices(
        request, session, user.company_id, provider
    )
    deals = await _deals(request, session, user)
    if sample_id is None and deals:
        sample_id = deals[0]["id"]
    data, sample_error = await _sample(request, session, user, sample_id)
    return {
        "user": user,
        "provider": provider,
        "providers": PROVIDERS,
        "provider_labels": PROVIDER_LABELS,
        "prefs": prefs,
        "described": describe_preferences(provider, prefs, definitions, row),
        "groups": _field_groups(definitions),
        "fields_known": definitions is not None,
        "targets": TARGETS,
        "target_labels": TARGET_LABELS,
        "entity_labels": ENTITY_LABELS,
        "rule_labels": RULE_LABELS,
        "tax_modes": TAX_MODES,
        "session_token": getattr(request.state, "session_token", None),
        "can_edit": await may(session, user, Permission.preferences),
        "choices": choices,
        "errors": {},
        # A refused save's form as the admin typed it (field name → value); else empty.
        "typed": {},
        "deals": deals,
        "sample_id": sample_id,
        "sample_error": sample_error,
        "preview": preview(
            provider, prefs, await company_day(session, user.company_id), data, definitions
        ),
        **extra,
    }


@router.get("/preferences")
async def preferences_page(request: Request, session: DbSession, user: PageUser) -> Response:
    """The full page; inside Pipedrive it is loaded with Pipedrive's JWT, after the install
    with our session."""
    params = request.query_params
    provider = _provider(params.get("provider"))
    definitions = await _definitions(request, session, user)
    prefs, row = await load_preferences(session, user.company_id, provider, definitions)
    context = await build_context(
        request,
        session,
        user,
        provider,
        prefs,
        definitions,
        row,
        _int_or_none(params.get("deal_id")),
        setup=params.get("setup") == "1" and user.is_admin,
        installed=params.get("installed") == "1",
        theme=params.get("theme") if params.get("theme") in ("light", "dark") else "auto",
    )
    return render(request, "preferences/page.html", **context)


@router.get("/preferences/{provider}/form")
async def form_fragment(
    provider: Provider, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The form of one provider (the provider tabs swap it in place)."""
    definitions = await _definitions(request, session, user)
    prefs, row = await load_preferences(session, user.company_id, provider, definitions)
    context = await build_context(
        request,
        session,
        user,
        provider,
        prefs,
        definitions,
        row,
        _int_or_none(request.query_params.get("deal_id")),
    )
    return render(request, "preferences/_form.html", **context)


@router.post("/preferences/{provider}/preview")
async def preview_fragment(
    provider: Provider, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The live preview for the form as it stands (not yet saved)."""
    form = await request.form()
    definitions = await _definitions(request, session, user)
    sample_id = _int_or_none(form.get("sample_deal"))
    data, sample_error = await _sample(request, session, user, sample_id)
    if not await may(session, user, Permission.preferences):
        # A rep's form is read only (disabled fields are not submitted): preview what is saved.
        stored, _ = await load_preferences(session, user.company_id, provider, definitions)
        return render(
            request,
            "preferences/_preview.html",
            preview=preview(
                provider, stored, await company_day(session, user.company_id), data, definitions
            ),
            errors={},
            sample_error=sample_error,
        )
    try:
        prefs = form_to_input(form)
    except ValidationError as exc:
        return render(
            request,
            "preferences/_preview.html",
            preview=None,
            errors=validation_messages(exc),
            sample_error=sample_error,
        )
    problems = mapping_problems(prefs, definitions) if definitions is not None else {}
    if problems:
        # Say why before the save does: the field's type cannot fill that part of the invoice.
        return render(
            request,
            "preferences/_preview.html",
            preview=None,
            errors=problems,
            sample_error=sample_error,
        )
    return render(
        request,
        "preferences/_preview.html",
        preview=preview(
            provider, prefs, await company_day(session, user.company_id), data, definitions
        ),
        errors={},
        sample_error=sample_error,
    )


@router.post("/preferences/{provider}")
async def save_fragment(
    provider: Provider, request: Request, session: DbSession, user: PageUser
) -> Response:
    """Save from the page; answers with the form again, showing success or what is wrong.
    A refused save answers 4xx with the form (the page tells htmx to swap those in)."""
    form = await request.form()
    sample_id = _int_or_none(form.get("sample_deal"))
    definitions = await _definitions(request, session, user)
    stored, row = await load_preferences(session, user.company_id, provider, definitions)

    # A refused save shows the form as the admin left it, not as it was stored.
    typed = {key: str(value) for key, value in form.items()}

    async def refuse(
        status: int, message: str, errors: dict[str, str], shown: PreferencesIn, **more: Any
    ) -> Response:
        context = await build_context(
            request,
            session,
            user,
            provider,
            shown,
            definitions,
            row,
            sample_id,
            errors=errors,
            message=message,
            typed=typed if status == 422 else {},
            **more,
        )
        return render(request, "preferences/_form.html", status_code=status, **context)

    if not await may(session, user, Permission.preferences):
        return await refuse(403, refusal(Permission.preferences).message, {}, stored)
    try:
        prefs = form_to_input(form)
    except ValidationError as exc:
        errors = validation_messages(exc)
        return await refuse(422, "Nothing was saved: " + "; ".join(errors.values()), errors, stored)
    if definitions is None:
        return await refuse(
            503, "Pipedrive could not be reached to check the fields; nothing was saved.", {}, prefs
        )
    # Tax rate, revenue account and template come from the provider's own lists.
    choices = await provider_choices(request, session, user.company_id, provider)
    problems = {
        **mapping_problems(prefs, definitions),
        **choice_problems(prefs.defaults, choices, stored.defaults),
    }
    if problems:
        message = "Nothing was saved: " + " ".join(problems.values())
        return await refuse(422, message, problems, prefs, choices=choices)
    prefs = prefs.model_copy(update={"defaults": canonical(prefs.defaults, choices)})
    try:
        row = await save_preferences(
            session, user.company_id, provider, prefs, definitions, user.id
        )
    except ValidationFailed as exc:
        target = (exc.field or "form").removeprefix("mapping.")
        return await refuse(422, "Nothing was saved: " + exc.message, {target: exc.message}, prefs)
    terms = describe(Terms(prefs.due_terms.rule, prefs.due_terms.days))
    context = await build_context(
        request,
        session,
        user,
        provider,
        prefs,
        definitions,
        row,
        sample_id,
        choices=choices,
        saved_message=f"Saved. Invoices fall due {terms}.",
    )
    return render(request, "preferences/_form.html", **context)
