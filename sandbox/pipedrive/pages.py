"""The stand-in's pages: a user picker, a home page per company listing its deals, a deal
detail page hosting our panel in an iframe, and the Invoicing "connected" page.

The deal page plays Pipedrive's part in a custom UI panel (reference §3.1): extensions.py builds
the framed URL (query and JWT as Pipedrive sends them) and static/pipedrive/host.js answers the
App Extensions SDK over postMessage.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sandbox import templating
from sandbox.pipedrive import extensions
from sandbox.pipedrive.api.notes import deal_activities, deal_notes
from sandbox.pipedrive.state import PREFIX, Pipedrive, pipedrive_of


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templating.render(request, f"pipedrive/{name}", status_code, **context)


def money(value: Any) -> str:
    return f"{Decimal(str(value or 0)):,.2f}"


def _company_or_404(pd: Pipedrive, domain: str) -> dict[str, Any] | None:
    return pd.data.company_by_domain(domain)


def _viewer(pd: Pipedrive, company: dict[str, Any], raw: str | None) -> dict[str, Any] | None:
    users = pd.data.users(company["id"])
    if raw and raw.isdigit():
        return next((u for u in users if u["id"] == int(raw)), None)
    return next((u for u in users if u.get("is_admin")), users[0] if users else None)


def _not_found(request: Request, message: str) -> HTMLResponse:
    return render(request, "not_found.html", 404, message=message)


def router() -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["pipedrive pages"], include_in_schema=False)
    r.include_router(company_pages())
    r.include_router(deal_pages())
    r.include_router(extension_pages())
    return r


def company_pages() -> APIRouter:
    """The user picker and a company's home page with its deals."""
    r = APIRouter()

    @r.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> HTMLResponse:
        """Pick a company and a user to look around as."""
        pd = pipedrive_of(request)
        companies = [{**c, "users": pd.data.users(c["id"])} for c in pd.data.companies()]
        return render(request, "index.html", companies=companies)

    @r.get("/c/{domain}/", response_class=HTMLResponse)
    async def home(request: Request, domain: str, user_id: str | None = None) -> HTMLResponse:
        pd = pipedrive_of(request)
        company = _company_or_404(pd, domain)
        if company is None:
            return _not_found(request, f"No company with domain {domain!r}")
        viewer = _viewer(pd, company, user_id)
        if viewer is None:
            return _not_found(request, "No such user in this company")
        orgs = {o["id"]: o for o in pd.data.items("organization", company["id"])}
        deals = [
            {
                **d,
                "org_name": (orgs.get(d["org_id"]) or {}).get("name"),
                "value_text": money(d["value"]),
            }
            for d in pd.data.items("deal", company["id"])
            if not d["is_deleted"]
        ]
        return render(
            request,
            "home.html",
            company=company,
            viewer=viewer,
            users=pd.data.users(company["id"]),
            deals=deals,
        )

    return r


def deal_pages() -> APIRouter:
    """A deal's page, hosting our panel in an iframe."""
    r = APIRouter()

    @r.get("/c/{domain}/deal/{deal_id}", response_class=HTMLResponse)
    async def deal_page(
        request: Request,
        domain: str,
        deal_id: str,
        user_id: str | None = None,
        theme: str = "light",
    ) -> HTMLResponse:
        """A deal with its products, and our panel in the side bar."""
        pd = pipedrive_of(request)
        company = _company_or_404(pd, domain)
        if company is None:
            return _not_found(request, f"No company with domain {domain!r}")
        viewer = _viewer(pd, company, user_id)
        if viewer is None:
            return _not_found(request, "No such user in this company")
        deal = pd.data.get("deal", company["id"], deal_id) if deal_id.isdigit() else None
        if deal is None or deal["is_deleted"]:
            return _not_found(request, "This deal does not exist or was deleted")
        theme = "dark" if theme == "dark" else "light"
        cid = company["id"]
        org = pd.data.get("organization", cid, deal["org_id"]) if deal["org_id"] else None
        person = pd.data.get("person", cid, deal["person_id"]) if deal["person_id"] else None
        lines = [
            {**line, "item_price_text": money(line["item_price"]), "sum_text": money(line["sum"])}
            for line in pd.data.deal_lines(cid, deal["id"])
        ]
        panel_url, panel_id = extensions.deal_frame_url(
            pd, pd.sandbox.settings.pipedrive_panel_path, viewer["id"], cid, deal["id"], theme
        )
        return render(
            request,
            "deal.html",
            company=company,
            viewer=viewer,
            users=pd.data.users(cid),
            deal=deal,
            value_text=money(deal["value"]),
            org=org,
            person=person,
            lines=lines,
            discounts=pd.data.deal_discounts(cid, deal["id"]),
            notes=deal_notes(pd.data, cid, deal["id"]),
            activities=deal_activities(pd.data, cid, deal["id"]),
            owners={u["id"]: u["name"] for u in pd.data.users(cid)},
            panel_url=panel_url,
            panel_id=panel_id,
            host=extensions.host_config(request, pd, domain, viewer["id"], theme),
            theme=theme,
        )

    return r


def extension_pages() -> APIRouter:
    """Where the Invoicing extension's connect flow lands."""
    r = APIRouter()

    @r.get("/c/{domain}/invoicing/connected", response_class=HTMLResponse)
    async def invoicing_connected(request: Request, domain: str, link_id: str = "") -> HTMLResponse:
        """Where the Invoicing registration's redirectUrl lands (reference ext. §4 step 5)."""
        pd = pipedrive_of(request)
        company = _company_or_404(pd, domain)
        link = pd.sandbox.store.get("pipedrive:invoice_link", link_id) if link_id else None
        if company is None or link is None or link["company_id"] != company["id"]:
            return _not_found(request, "No invoicing connection with this link id")
        return render(request, "invoicing_connected.html", company=company, link=link)

    return r
