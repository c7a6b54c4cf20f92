"""What every deal-panel fragment shares: the panel's path, its page context, and failures
shown in place."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.repository import ConnectionRepository
from app.db import utcnow
from app.errors import AppError, ValidationFailed
from app.invoices.pages.forms import PROVIDER_LABELS, TAX_MODE_LABELS, day, money, pipedrive_id
from app.invoices.rules.meta import ProviderMeta
from app.tenants.models import CrmUser
from app.web import render

PANEL = "/pipedrive/panel"
# Outcomes that must be retried with the same key (the invoice may exist, or its intent stays
# open and is completed later: a provider paused by its circuit); any other failure left
# nothing at the provider, so the dialog gets a fresh key and the user can edit and retry.
KEEP_KEY = {"outcome_unknown", "in_progress", "provider_circuit_open"}


def keeps_key(exc: AppError) -> bool:
    """Whether the dialog must retry with the same key: any failure but a refusal (a 429 or
    a 5xx leaves the intent open, and the reconciler completes it: a new key would make a
    second invoice)."""
    return exc.code in KEEP_KEY or exc.status_code == 429 or exc.status_code >= 500


def theme(request: Request) -> str:
    value = request.query_params.get("theme")
    return value if value in ("light", "dark") else "auto"


def deal_id_of(request: Request) -> int:
    raw = request.query_params.get("selectedIds") or request.query_params.get("deal_id") or ""
    deal_id = pipedrive_id(raw.split(",")[0])
    if deal_id is None:
        raise ValidationFailed(
            "Open this panel from a deal in Pipedrive (no valid deal id was given).",
            field="selectedIds",
        )
    return deal_id


async def connected_providers(session: AsyncSession, company_id: str) -> dict[str, str]:
    """The company's providers that are connected or need reconnecting (provider → status)."""
    rows = await ConnectionRepository(session, company_id).all_live()
    pairs = [(row.provider, row.status) for row in rows]
    return {p: s for p, s in sorted(pairs, key=lambda r: list(PROVIDER_LABELS).index(r[0]))}


async def renewals_due(session: AsyncSession, company_id: str) -> dict[str, datetime]:
    """Providers whose connection must be renewed soon (its hard cap is near) → by when."""
    now = utcnow()
    rows = await ConnectionRepository(session, company_id).all_live()
    return {row.provider: by for row in rows if (by := row.renew_by(now)) is not None}


def common(request: Request, user: CrmUser, deal_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "user": user,
        "deal_id": deal_id,
        "panel": PANEL,
        "labels": PROVIDER_LABELS,
        "money": money,
        "day": day,
        "session_token": getattr(request.state, "session_token", None),
        # Each rendering's action buttons carry their own Idempotency-Key: a double click or a
        # repeat of a lost request acts once; the next rendering acts anew.
        "render_id": uuid.uuid4().hex,
        **extra,
    }


def problem(request: Request, exc: AppError, **extra: Any) -> Response:
    """A failure as a message in place: what happened, and what to do about it."""
    reconnect = exc.extra.get("reconnect_url") or exc.extra.get("connect_url")
    return render(
        request,
        "invoices/_problem.html",
        status_code=exc.status_code if exc.status_code < 500 else 503,
        message=exc.message,
        reconnect_url=reconnect,
        **extra,
    )


def options(meta: ProviderMeta) -> dict[str, Any]:
    return {
        "meta": meta,
        "tax_modes": [
            (m.value, text) for m, text in TAX_MODE_LABELS.items() if m in meta.features.tax_modes
        ],
        "mode_labels": TAX_MODE_LABELS,
        "tax_rates": [r for r in meta.tax_rates if r.can_apply_to_revenue],
        "currencies": meta.currencies,
        "per_line_tax": meta.features.tax_option == "multiple",
        "line_discounts": meta.features.line_discount,
    }
