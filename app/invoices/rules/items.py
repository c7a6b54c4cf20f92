"""Which provider item a deal product's line gets, and which invoice template is used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.crm.pipedrive.schemas import Product
from app.invoices.rules.meta import ProviderMeta
from app.providers.base import Item

if TYPE_CHECKING:
    # Only read here (a remembered link's fields): the rules never touch the database.
    from app.invoices.models import ItemLink


@dataclass
class ItemChoice:
    """The provider item for a CRM product: remembered (linked) or suggested."""

    item_id: str
    item_code: str | None
    item_name: str
    state: str


def candidates(crm: Product | None, items: Sequence[Item]) -> list[Item]:
    """Every active item with the product's code, else with its exact name."""
    if crm is None:
        return []
    active = [i for i in items if i.is_active]
    by_code = [i for i in active if crm.code and (i.code or "").casefold() == crm.code.casefold()]
    return by_code or [i for i in active if i.name.casefold() == crm.name.casefold()]


def choice_suggestions(crm: Product | None, items: Sequence[Item]) -> list[Item]:
    """Suggested items for a product, in order: a unique code (SKU) match, else a unique
    exact (case-insensitive) name match. Nothing fuzzier."""
    if crm is None:
        return []
    active = [i for i in items if i.is_active]
    if crm.code:
        by_code = [i for i in active if (i.code or "").casefold() == crm.code.casefold()]
        if len(by_code) == 1:
            return by_code
    by_name = [i for i in active if i.name.casefold() == crm.name.casefold()]
    return by_name if len(by_name) == 1 else []


def item_choice(
    product_id: int | None,
    crm: Product | None,
    links: dict[int, ItemLink],
    items: Sequence[Item],
    meta: ProviderMeta,
) -> ItemChoice | None:
    """The remembered item, else the one suggestion."""
    if product_id and product_id in links:
        link = links[product_id]
        return ItemChoice(link.item_id, link.item_code, link.item_name, "linked")
    found = choice_suggestions(crm, items)
    if found:
        return ItemChoice(found[0].id, found[0].code, found[0].name, "suggested")
    return None


def template_id_for(meta: ProviderMeta, template: str | None) -> str | None:
    """The preferred template's id (the preference may hold its id or its name), else the
    provider's default; None where the provider has no templates."""
    if not meta.features.templates or not meta.templates:
        return None
    wanted = (template or "").casefold()
    for candidate in meta.templates:
        if wanted and wanted in (candidate.id.casefold(), candidate.name.casefold()):
            return candidate.id
    default = next((t for t in meta.templates if t.is_default), None)
    return default.id if default else None
