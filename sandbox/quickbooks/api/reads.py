"""Reads: company info, preferences, the query language, change data capture, the invoice
PDF and reading one entity by id (quickbooks.md §2, §4, §5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.quickbooks import errors
from sandbox.quickbooks.api import query
from sandbox.quickbooks.api.common import PREFIX, BooksDep, envelope, invoice_view, view
from sandbox.quickbooks.clocktime import parse_time
from sandbox.quickbooks.pdf import invoice_pdf
from sandbox.quickbooks.state import CANONICAL, ENTITIES, Books, public

CDC_LOOKBACK = timedelta(days=30)
QUERYABLE = (*ENTITIES.values(), "CompanyInfo")
NAME_LISTS = ("Customer", "Item", "Account", "Term", "TaxCode", "TaxRate")


def router() -> APIRouter:
    """The read routes; the catch-all ``/{entity}/{id}`` comes last."""
    r = APIRouter()

    @r.get(PREFIX + "/companyinfo/{company_id}")
    async def company_info(books: BooksDep, company_id: str) -> dict[str, Any]:
        realm = books.realm_doc() or {}
        if company_id != books.realm:
            raise errors.not_found("CompanyInfo", company_id)
        return envelope(books, CompanyInfo=public(realm["CompanyInfo"]))

    @r.get(PREFIX + "/preferences")
    async def preferences(books: BooksDep) -> dict[str, Any]:
        realm = books.realm_doc() or {}
        return envelope(books, Preferences=public(realm["Preferences"]))

    @r.get(PREFIX + "/query")
    async def query_get(books: BooksDep, request: Request) -> dict[str, Any]:
        return await run_query(books, request.query_params.get("query", ""))

    @r.post(PREFIX + "/query")
    async def query_post(books: BooksDep, request: Request) -> dict[str, Any]:
        return await run_query(books, (await request.body()).decode("utf-8", "replace"))

    @r.get(PREFIX + "/cdc")
    async def cdc(books: BooksDep, request: Request) -> dict[str, Any]:
        """Changes since a time (≤ 30 days back), deletions as status Deleted (§5)."""
        params = request.query_params
        return changes(books, params.get("entities", ""), params.get("changedSince", ""))

    @r.get(PREFIX + "/invoice/{invoice_id}/pdf")
    async def pdf(books: BooksDep, invoice_id: str) -> Response:
        doc = books.require("Invoice", invoice_id)
        realm = books.realm_doc() or {}
        content = invoice_pdf(realm, invoice_view(books, doc), books.clock.now())
        return Response(content, media_type="application/pdf")

    @r.get(PREFIX + "/{entity_path}/{entity_id}")
    async def read(
        books: BooksDep, request: Request, entity_path: str, entity_id: str
    ) -> dict[str, Any]:
        entity = ENTITIES.get(entity_path.lower())
        if entity is None:
            raise errors.QboFault(
                400,
                "5030",
                "Unsupported Operation",
                f"Operation {entity_path} is not supported.",
            )
        doc = books.require(entity, entity_id)
        include = request.query_params.get("include", "")
        return envelope(books, **{entity: view(books, entity, doc, include)})

    return r


async def run_query(books: Books, text: str) -> dict[str, Any]:
    parsed = query.parse(text)
    entity = next((e for e in QUERYABLE if e.lower() == parsed.entity.lower()), None)
    if entity is None:
        raise errors.query_parse(f"Invalid entity name {parsed.entity!r} in the query.")
    if entity == "CompanyInfo":
        docs = [(books.realm_doc() or {})["CompanyInfo"]]
    else:
        docs = [view(books, entity, d) for d in books.all(entity)]
    if entity in NAME_LISTS and not any(c.field.lower() == "active" for c in parsed.where):
        # Like QBO, name lists hide inactive entries unless the query asks about Active.
        docs = [d for d in docs if d.get("Active", True)]
    page, total = query.run(parsed, docs)
    if parsed.count:
        return envelope(books, QueryResponse={"totalCount": total})
    response: dict[str, Any] = {}
    if page:
        response = {
            entity: [public(d) for d in page],
            "startPosition": parsed.start,
            "maxResults": len(page),
        }
    return envelope(books, QueryResponse=response)


def changes(books: Books, wanted: str, since_text: str) -> dict[str, Any]:
    """The CDC answer for the comma-separated ``wanted`` entities changed since ``since_text``."""
    if not wanted:
        raise errors.required("entities")
    if not since_text:
        raise errors.required("changedSince")
    since = parse_time(since_text)
    if since is None:
        raise errors.invalid_property(f"Invalid changedSince {since_text!r}", "changedSince")
    if since < books.clock.now() - CDC_LOOKBACK:
        # UNCONFIRMED wording; the 30-day limit itself is documented (§5).
        raise errors.invalid_property(
            "changedSince must be within the last 30 days", "changedSince"
        )
    parts = []
    for name in wanted.split(","):
        entity = CANONICAL.get(name.strip().lower())
        if entity is None or entity in ("TaxCode", "TaxRate"):
            raise errors.invalid_property(f"CDC is not supported for {name.strip()}", "entities")
        changed = [
            view(books, entity, d)
            for d in books.all(entity)
            if (parse_time(d["MetaData"]["LastUpdatedTime"]) or since) >= since
        ]
        changed += [
            public(d)
            for d in books.deleted(entity)
            if (parse_time(d["MetaData"]["LastUpdatedTime"]) or since) >= since
        ]
        changed = changed[:1000]
        part: dict[str, Any] = {}
        if changed:
            part = {entity: changed, "startPosition": 1, "maxResults": len(changed)}
        parts.append(part)
    return envelope(books, CDCResponse=[{"QueryResponse": parts}])
