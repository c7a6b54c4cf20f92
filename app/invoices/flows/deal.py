"""The deal an invoice is for: read from the CRM (404 for another company's or a deleted deal),
its URL, and the signed token a draft hands to the create call so it need not read it again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.pipedrive.client import PipedriveClient
from app.crm.pipedrive.errors import PipedriveNotFound
from app.crm.pipedrive.schemas import Deal
from app.errors import AppError, NotFound
from app.invoices.context import InvoiceContext
from app.kit.signing import Signer

DEAL_TOKEN_TTL = 12 * 3600


async def read_deal(client: PipedriveClient, deal_id: int) -> Deal:
    """The deal, or 404 naming ``deal_id`` when it is missing, another company's or deleted."""
    try:
        deal = await client.deal(deal_id)
    except PipedriveNotFound as exc:
        raise NotFound(f"Deal {deal_id} was not found in Pipedrive.", field="deal_id") from exc
    if deal.is_deleted:
        raise NotFound(
            f"Deal {deal_id} was deleted in Pipedrive.", field="deal_id", code="deal_deleted"
        )
    return deal


def deal_signer(ctx: InvoiceContext) -> Signer:
    return Signer(ctx.settings.secret_key, "invoice-deal")


def deal_token(ctx: InvoiceContext, deal_id: int, url: str) -> str:
    """Signed (company, deal, deal URL): the draft hands it to the create call."""
    return deal_signer(ctx).sign({"c": ctx.company_id, "d": deal_id, "u": url}, DEAL_TOKEN_TTL)


async def ensure_deal(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, token: str | None
) -> str:
    """The deal belongs to the company and is not deleted: proven by the draft's token, else
    read from the CRM (404 for another company's or a deleted deal). Returns its URL."""
    if token:
        try:
            claims = deal_signer(ctx).unsign(token)
        except AppError:
            claims = {}
        if claims.get("c") == ctx.company_id and claims.get("d") == deal_id and claims.get("u"):
            return str(claims["u"])
    client, api_domain = await ctx.pipedrive(session)
    await read_deal(client, deal_id)
    return deal_url(api_domain, deal_id)


def deal_url(api_domain: str, deal_id: int) -> str:
    return f"{api_domain.rstrip('/')}/deal/{deal_id}"
