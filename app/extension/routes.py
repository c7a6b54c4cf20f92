"""HTTP surface of Pipedrive's Invoicing extension: the manifest, the 21 endpoints of
pipedrive-invoicing-extension.md §3.3 (method + path from ``manifest.ENDPOINTS``), and the
"register with Pipedrive" page step.

Every endpoint answers the ``{success, data}`` envelope; every failure, including bad auth
(401), an unknown link (404), bad input (422) and provider trouble, is a non-2xx JSON
``{"success": false, "data": null, "error": "<plain words>"}``: never HTML. The one exception
to the envelope is ``getInvoicePDF``, which streams the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.connections.models import ConnectionStatus
from app.connections.repository import ConnectionRepository
from app.crm.pipedrive.schemas import PipedriveId
from app.crm.pipedrive.service import basic_credentials_ok
from app.errors import AppError, NotFound, ServiceUnavailable, Unauthorized, ValidationFailed
from app.extension import invoices, mapping
from app.extension import schemas as pd
from app.extension.manifest import PREFIX, manifest, route_path
from app.extension.registration import register
from app.extension.service import Extension, open_link
from app.logs import log
from app.providers.base import ProviderId, ProviderName
from app.tenants.dependencies import ActingPageAdmin
from app.web import DbSession, SettingsDep

ENVELOPE_HEADERS = {"Cache-Control": "no-store"}


def envelope(data: Any, status: int = 200) -> JSONResponse:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", exclude_none=True)
    elif isinstance(data, list):
        data = [
            d.model_dump(mode="json", exclude_none=True) if isinstance(d, BaseModel) else d
            for d in data
        ]
    return JSONResponse({"success": True, "data": data}, status, headers=ENVELOPE_HEADERS)


def failure(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"success": False, "data": None, "error": message},
        status,
        headers={**ENVELOPE_HEADERS, **(headers or {})},
    )


def _validation_message(errors: Any) -> str:
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    where = ".".join(loc)
    return f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "invalid")


class EnvelopeRoute(APIRoute):
    """Turns every failure of an extension endpoint into the envelope (§6)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except AppError as exc:
                if exc.status_code >= 500:
                    log.warning("invoicing_extension_error", code=exc.code, message=exc.message)
                text = exc.message
                url = exc.extra.get("reconnect_url")
                if url:
                    text = f"{text} Reconnect at {url}"
                return failure(exc.status_code, text, exc.headers)
            except (RequestValidationError, ValidationError) as exc:
                return failure(422, _validation_message(exc.errors()))
            except StarletteHTTPException as exc:
                return failure(exc.status_code, str(exc.detail))
            except Exception:
                # Pipedrive must never get an HTML error page: log it, answer the envelope.
                log.exception("invoicing_extension_failed", path=request.url.path)
                return failure(500, "Something failed on our side; it has been logged.")

        return run


router = APIRouter(tags=["pipedrive-invoicing"], route_class=EnvelopeRoute)
pages = APIRouter(prefix=PREFIX, tags=["pipedrive-invoicing"], include_in_schema=False)


def require_pipedrive(request: Request, settings: SettingsDep) -> None:
    """Basic base64(client_id:client_secret), compared in constant time (§5)."""
    if not basic_credentials_ok(settings, request.headers.get("authorization")):
        raise Unauthorized("Pipedrive's client credentials are missing or wrong.")


Authenticated = Depends(require_pipedrive)


async def _link(request: Request, session: DbSession, linkId: str) -> Extension:
    return await open_link(request, session, linkId)


Link = Annotated[Extension, Depends(_link)]


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise ValidationFailed("The request body is not JSON.", field="body") from exc


def _unwrap(body: Any) -> Any:
    """The body bare or inside ``{"data": …}`` (§7.4: which one is UNCONFIRMED)."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body["data"]
    return body


def _parse(model: type[BaseModel], body: Any) -> Any:
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.", field="body")
    return model.model_validate(body)


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that parses its JSON itself (bare or inside
    ``{"data": …}``): the model's schema with its definitions inlined, so the document
    describes what Pipedrive sends and Schemathesis can generate it."""
    schema = model.model_json_schema()
    inlined = _inline(schema, schema.get("$defs", {}))
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inlined}}}}


def _key(kind: str, link_id: str, body: Any) -> str:
    """Idempotency for creates Pipedrive sends without a key: link + kind + canonical body."""
    canonical = json.dumps(body, sort_keys=True, default=str)
    return hashlib.sha256(f"{kind}:{link_id}:{canonical}".encode()).hexdigest()[:36]


def _flag(value: str | None) -> bool:
    # The boolean wire format is UNCONFIRMED: accept true/1/yes in any case.
    return (value or "").strip().lower() in ("true", "1", "yes")


deps = [Authenticated]


@router.get(PREFIX + "/manifest.json", include_in_schema=True)
async def get_manifest(settings: SettingsDep) -> JSONResponse:
    """The manifest to upload in Developer Hub (no auth: it holds no secret)."""
    return JSONResponse(manifest(settings))


@router.get(route_path("getProviderAccount"), dependencies=deps)
async def get_provider_account(ext: Link) -> Response:
    return envelope(await ext.account())


@router.get(route_path("getProviderAccountConnectUrl"), dependencies=deps)
async def get_provider_account_connect_url(ext: Link) -> Response:
    return envelope(ext.connect_url())


@router.get(route_path("getCurrencies"), dependencies=deps)
async def get_currencies(ext: Link) -> Response:
    return envelope(await ext.currencies())


@router.get(route_path("getTaxRates"), dependencies=deps)
async def get_tax_rates(ext: Link) -> Response:
    return envelope(await ext.tax_rates())


@router.get(route_path("getAccounts"), dependencies=deps)
async def get_accounts(ext: Link) -> Response:
    return envelope(await ext.accounts())


@router.get(route_path("getTemplates"), dependencies=deps)
async def get_templates(ext: Link) -> Response:
    return envelope(await ext.templates())


@router.get(route_path("getSearchContacts"), dependencies=deps)
async def get_search_contacts(
    ext: Link, name: Annotated[str, Query(max_length=255)] = ""
) -> Response:
    return envelope(await ext.search_contacts(name))


@router.get(route_path("getContact"), dependencies=deps)
async def get_contact(ext: Link, contactId: ProviderId) -> Response:
    return envelope(await ext.get_contact(contactId))


@router.post(route_path("postContact"), dependencies=deps, openapi_extra=json_body(pd.ContactIn))
async def post_contact(ext: Link, request: Request) -> Response:
    raw = _unwrap(await _json(request))
    body = _parse(pd.ContactIn, raw)
    return envelope(await ext.create_contact(body, _key("contact", ext.link.link_id, raw)))


@router.put(route_path("putContact"), dependencies=deps, openapi_extra=json_body(pd.ContactIn))
async def put_contact(ext: Link, request: Request, contactId: ProviderId) -> Response:
    body = _parse(pd.ContactIn, _unwrap(await _json(request)))
    return envelope(await ext.update_contact(contactId, body))


@router.get(route_path("getSearchProducts"), dependencies=deps)
async def get_search_products(
    ext: Link,
    name: Annotated[str, Query(max_length=255)] = "",
    code: Annotated[str | None, Query(max_length=255)] = None,
    forceCodeSearch: str | None = None,
) -> Response:
    return envelope(await ext.search_products(name, code, _flag(forceCodeSearch)))


@router.get(route_path("getProduct"), dependencies=deps)
async def get_product(ext: Link, productId: ProviderId) -> Response:
    return envelope(await ext.get_product(productId))


@router.post(route_path("postProduct"), dependencies=deps, openapi_extra=json_body(pd.ProductIn))
async def post_product(ext: Link, request: Request) -> Response:
    raw = _unwrap(await _json(request))
    body = _parse(pd.ProductIn, raw)
    return envelope(await ext.create_product(body, _key("product", ext.link.link_id, raw)))


@router.put(route_path("putProduct"), dependencies=deps, openapi_extra=json_body(pd.ProductIn))
async def put_product(ext: Link, request: Request, productId: ProviderId) -> Response:
    body = _parse(pd.ProductIn, _unwrap(await _json(request)))
    return envelope(await ext.update_product(productId, body))


@router.post(
    route_path("postInvoice"), dependencies=deps, openapi_extra=json_body(pd.InvoiceCreateData)
)
async def post_invoice(
    ext: Link,
    request: Request,
    dealId: Annotated[PipedriveId | None, Query()] = None,
) -> Response:
    """``dealId`` (when the caller knows the deal): the invoice is created from that deal and
    listed in its panel; the contract's body names no deal."""
    raw = _unwrap(await _json(request))
    data = _parse(pd.InvoiceCreateData, raw)
    key = mapping.idempotency_key(ext.link.link_id, raw, dealId)
    return envelope(await invoices.create_invoice(ext, data, key, dealId))


@router.get(route_path("getSearchInvoices"), dependencies=deps)
async def get_search_invoices(
    ext: Link,
    ids: Annotated[str | None, Query(max_length=4000)] = None,
    customerId: Annotated[ProviderId | None, Query()] = None,
    startDate: str | None = None,
    endDate: str | None = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
    refresh: bool = False,
) -> Response:
    # Answered from our synced rows; ``refresh=true`` reads through to the provider first.
    return envelope(
        await invoices.search_invoices(ext, ids, customerId, startDate, endDate, page, refresh)
    )


@router.post(
    route_path("postInvoiceStatus"), dependencies=deps, openapi_extra=json_body(pd.ActionIn)
)
async def post_invoice_status(ext: Link, request: Request, invoiceId: ProviderId) -> Response:
    action = _parse(pd.ActionIn, _unwrap(await _json(request)))
    return envelope(await invoices.change_status(ext, invoiceId, action.id))


@router.post(route_path("postInvoiceEmail"), dependencies=deps)
async def post_invoice_email(ext: Link, invoiceId: ProviderId) -> Response:
    # The body is an InvoiceAction (§8.5); emailing needs nothing from it.
    return envelope(await invoices.email(ext, invoiceId))


@router.get(route_path("getInvoiceShareUrl"), dependencies=deps)
async def get_invoice_share_url(ext: Link, invoiceId: ProviderId) -> Response:
    return envelope(await invoices.share_url(ext, invoiceId))


@router.get(route_path("getInvoicePDF"), dependencies=deps)
async def get_invoice_pdf(ext: Link, invoiceId: ProviderId) -> Response:
    content, filename = await invoices.pdf(ext, invoiceId)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(route_path("getInvoiceSummary"), dependencies=deps)
async def get_invoice_summary(
    ext: Link,
    contactId: Annotated[ProviderId, Query()],
    to: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    refresh: bool = False,
) -> Response:
    # From our synced rows; ``refresh=true`` reads the contact's invoices at the provider first.
    return envelope(await invoices.summary(ext, contactId, from_, to, refresh))


@router.api_route(
    PREFIX + "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown_endpoint(rest: str) -> Response:
    """Anything else under the prefix: a 404 in the envelope, never an HTML page."""
    raise NotFound("There is no such invoicing endpoint.")


# --- the page step -------------------------------------------------------------------------


@pages.get("/register/{provider}")
async def register_page(
    provider: str, request: Request, admin: ActingPageAdmin, session: DbSession
) -> Response:
    """ "Register with Pipedrive": (re)announce the company's link for this provider and send
    the admin's browser on to Pipedrive's redirectUrl."""
    if provider not in {p.value for p in ProviderName}:
        raise NotFound("unknown provider; use xero or quickbooks")
    connection = await ConnectionRepository(session, admin.company_id).live(provider)
    # Only an active connection is registered: one that needs reauth waits for its admin.
    if connection is None or connection.status != ConnectionStatus.active.value:
        raise NotFound(f"{provider} is not connected; connect it first.", field="provider")
    state = request.app.state
    outcome = await register(
        session, state.http, state.settings, state.sessionmaker, connection, admin.id
    )
    if outcome.redirect_url is None:
        raise ServiceUnavailable(outcome.error or "Pipedrive did not accept the link.")
    await session.commit()
    return RedirectResponse(outcome.redirect_url, status_code=303)
