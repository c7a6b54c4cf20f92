"""The deal panel's contact parts through HTTP: the "…" menu per role, the totals, View all
with a range and status, linking and unlinking there, unlinking the contact, the read-only
settings summary, refresh, and another company's ids (404)."""

from __future__ import annotations

from typing import Any

from tests.invoices.conftest import installed
from tests.invoices.test_contact_invoices import link_acme, xero_calls

PANEL = "/pipedrive/panel"


async def test_menu_settings_per_role(client, northwind, sandbox, sessionmaker):
    admin = await client.get(PANEL, params={"selectedIds": "31"}, headers=northwind.headers)
    assert admin.status_code == 200
    assert 'id="menu-settings" href="/preferences"' in admin.text
    assert 'data-pipedrive-redirect="settings"' in admin.text
    assert 'id="menu-unlink-contact"' in admin.text and "hx-confirm=" in admin.text
    sam = await installed(client, sandbox, sessionmaker, 102)
    rep = await client.get(PANEL, params={"selectedIds": "31"}, headers=sam.headers)
    assert f'href="{PANEL}/31/settings"' in rep.text
    summary = await client.get(f"{PANEL}/31/settings", headers=sam.headers)
    assert summary.status_code == 200
    assert "Only a Pipedrive admin can change these." in summary.text
    assert 'id="due-rule-xero"' in summary.text and "<form" not in summary.text


async def test_totals_and_view_all_in_the_panel(client, northwind, sandbox):
    h = northwind.headers
    none = await client.get(f"{PANEL}/31/contact/totals", headers=h)
    assert none.status_code == 200 and 'id="no-contact"' in none.text
    await link_acme(client, northwind)
    totals = await client.get(f"{PANEL}/31/contact/totals", params={"range": "all"}, headers=h)
    assert totals.status_code == 200
    assert 'data-currency="NZD"' in totals.text and 'class="totals-bar"' in totals.text
    await sandbox.clear_requests()
    view = await client.get(
        f"{PANEL}/31/contact/invoices", params={"range": "all", "status": "unpaid"}, headers=h
    )
    assert view.status_code == 200
    assert view.text.count("data-contact-invoice=") == 1  # the one AUTHORISED and unpaid
    assert xero_calls(await sandbox.requests()) == []
    backwards = await client.get(
        f"{PANEL}/31/contact/invoices",
        params={"range": "custom", "from": "2026-05-02", "to": "2026-05-01"},
        headers=h,
    )
    assert backwards.status_code == 422 and "after it ends" in backwards.text
    bad_day = await client.get(
        f"{PANEL}/31/contact/invoices", params={"range": "custom", "from": "May"}, headers=h
    )
    assert bad_day.status_code == 422 and "is not a date" in bad_day.text


async def test_link_and_unlink_from_view_all(client, northwind):
    h = northwind.headers
    await link_acme(client, northwind)
    view = await client.get(f"{PANEL}/31/contact/invoices", params={"range": "all"}, headers=h)
    row = view.text.split('data-contact-invoice="', 1)[1].split('"', 1)[0]
    linked = await client.post(
        f"{PANEL}/31/contact/invoices/{row}/link", data={"range": "all"}, headers=h
    )
    assert linked.status_code == 200 and "linked to this deal." in linked.text
    assert "invoices-changed" in linked.headers["HX-Trigger"]
    listed = await client.get(f"{PANEL}/31/invoices", headers=h)
    assert f'data-invoice="{row}"' in listed.text
    unlinked = await client.post(
        f"{PANEL}/31/contact/invoices/{row}/unlink", data={"range": "all"}, headers=h
    )
    assert "unlinked from this deal." in unlinked.text
    assert f'data-invoice="{row}"' not in (await client.get(f"{PANEL}/31/invoices", headers=h)).text


async def test_unlink_contact_and_refresh(client, northwind, sandbox):
    h = northwind.headers
    await link_acme(client, northwind)
    await sandbox.clear_requests()
    refreshed = await client.post(f"{PANEL}/31/invoices/refresh", headers=h)
    assert refreshed.status_code == 200 and refreshed.headers["HX-Trigger"] == "contact-changed"
    assert xero_calls(await sandbox.requests()), "refresh reads through to Xero"
    gone = await client.post(f"{PANEL}/31/contact/unlink", headers=h)
    assert gone.status_code == 200 and "Contact Acme Ltd unlinked" in gone.text
    again = await client.post(f"{PANEL}/31/contact/unlink", headers=h)
    assert again.status_code == 404


async def test_another_companys_panel_routes_are_404(client, northwind, contoso):
    await link_acme(client, northwind)
    h: dict[str, Any] = contoso.headers
    view = await client.get(f"{PANEL}/31/contact/invoices", headers=northwind.headers)
    row = view.text.split('data-contact-invoice="', 1)[1].split('"', 1)[0]
    assert (await client.get(f"{PANEL}/31/contact/totals", headers=h)).status_code == 404
    assert (await client.get(f"{PANEL}/31/contact/invoices", headers=h)).status_code == 404
    assert (await client.post(f"{PANEL}/31/contact/unlink", headers=h)).status_code == 404
    assert (await client.get(f"{PANEL}/31/settings", headers=h)).status_code == 404
    for verb in ("link", "unlink"):
        for deal in (31, 131):
            answer = await client.post(f"{PANEL}/{deal}/contact/invoices/{row}/{verb}", headers=h)
            assert 'id="view-all-card"' not in answer.text
            assert answer.status_code == 404, (verb, deal, answer.text)
