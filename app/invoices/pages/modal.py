"""The Create invoice dialog as Pipedrive's custom modal (pipedrive.md §3.1).

The panel opens it with the SDK's ``OPEN_MODAL`` (``type: custom_modal``, ``action_id`` the
modal's Developer Hub ID) and ``data`` naming the deal, the provider and the frame's company;
Pipedrive loads ``/pipedrive/modal/create-invoice?...&token=...&data=<that JSON>``. The page is
the same dialog the panel shows outside Pipedrive, with the room a modal has; it closes itself
with ``CLOSE_MODAL`` once the invoice is created (static/pipedrive.js).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response

from app.crm.pipedrive.manifest import MODAL_HEIGHT, MODAL_PATH, MODAL_WIDTH
from app.errors import AppError, NotFound, ValidationFailed
from app.invoices.pages.common import theme
from app.invoices.pages.dialog import dialog_context
from app.invoices.pages.forms import PROVIDER_LABELS, pipedrive_id
from app.tenants.dependencies import PageUser
from app.tenants.models import Company
from app.web import DbSession, render

router = APIRouter(include_in_schema=False)

MODAL = MODAL_PATH


@dataclass(frozen=True)
class ModalData:
    deal_id: int
    provider: str
    company_id: int | None


def modal_data(raw: str | None) -> ModalData:
    """``data`` as the panel sent it: ``{"dealId": 5, "provider": "xero", "companyId": 13}``."""
    try:
        body: Any = json.loads(raw or "")
    except ValueError as exc:
        raise ValidationFailed(
            "Open this dialog from a deal's Invoices panel (its data is not JSON).", field="data"
        ) from exc
    if not isinstance(body, dict):
        raise ValidationFailed("The dialog's data must be a JSON object.", field="data")
    deal_id = pipedrive_id(str(body.get("dealId", "")))
    if deal_id is None:
        raise ValidationFailed("The dialog's data names no valid deal (dealId).", field="data")
    provider = str(body.get("provider") or "xero")
    if provider not in PROVIDER_LABELS:
        raise ValidationFailed(f"Unknown accounting system {provider!r}.", field="data")
    company = body.get("companyId")
    company_id = pipedrive_id(str(company)) if company not in (None, "") else None
    if company not in (None, "") and company_id is None:
        raise ValidationFailed("The dialog's data names no valid company.", field="data")
    return ModalData(deal_id=deal_id, provider=provider, company_id=company_id)


@router.get(MODAL)
async def create_invoice_modal(request: Request, session: DbSession, user: PageUser) -> Response:
    """The Create invoice dialog in Pipedrive's custom modal. A deal of another company (by
    the data's company, or because the company's Pipedrive does not know it) is a 404, and
    nothing of it is shown."""
    data = modal_data(request.query_params.get("data"))
    company = await session.get(Company, user.company_id)
    if company is None or (
        data.company_id is not None and data.company_id != company.pipedrive_company_id
    ):
        raise NotFound("This deal is not one of your company's.")
    try:
        context = await dialog_context(request, session, user, data.deal_id, data.provider)
    except NotFound:
        raise
    except AppError as exc:
        return render(
            request,
            "invoices/modal.html",
            status_code=exc.status_code if exc.status_code < 500 else 503,
            theme=theme(request),
            size=(MODAL_WIDTH, MODAL_HEIGHT),
            failure=exc.message,
            session_token=getattr(request.state, "session_token", None),
        )
    return render(
        request,
        "invoices/modal.html",
        theme=theme(request),
        size=(MODAL_WIDTH, MODAL_HEIGHT),
        **context,
    )
