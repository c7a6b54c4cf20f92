"""The deal panel in Debian's Chromium: the sandbox Pipedrive's deal page embeds it in an
iframe exactly as Pipedrive does; a rep creates an invoice and follows it into Xero."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from app.tenants.handoff import issue_handoff
from tests.invoices.helpers import body, create, draft

pytestmark = pytest.mark.browser

# Set PANEL_SCREENSHOTS=/some/dir to keep screenshots of each step (for looking at them).
SHOTS = os.environ.get("PANEL_SCREENSHOTS")


async def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


async def until(target: Any, script: str, timeout: float = 5.0) -> None:
    """Wait until ``script`` is true (polled: our CSP forbids wait_for_function's eval)."""
    for _ in range(int(timeout / 0.05)):
        if await target.evaluate(script):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still false after {timeout} s: {script}")


def real_errors(errors: list[str]) -> list[str]:
    # Refusals (4xx) are answers the page shows; Chromium logs each one. htmx also logs a list
    # reload it cut short for a newer one (sendAbort, with its afterRequest): nothing a person
    # sees, since the newer reload shows the list. Nothing else may fail.
    aborted = ("htmx:sendAbort", "htmx:afterRequest")
    return [e for e in errors if "status of 4" not in e and not e.startswith(aborted)]


async def test_create_an_invoice_from_the_sandbox_deal_page(
    app_server: str, browser: Any, northwind: Any, settings: Any
) -> None:
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        await page.goto(f"{settings.sandbox_url}/pipedrive/c/northwind/deal/31?user_id=101")
        frame = page.frame_locator("#panel")
        await frame.locator("text=No invoices for this deal yet.").wait_for(timeout=15000)
        await frame.locator("#provider-choice").select_option("xero")

        # Inside Pipedrive the dialog is Pipedrive's custom modal (OPEN_MODAL): the host's own
        # overlay frames our modal page; its close button closes it, and nothing is created.
        inner = page.frame(url=lambda u: "/pipedrive/panel" in u)
        assert inner is not None
        await inner.evaluate("window.__marker = 'same page'")
        await frame.locator("#create-button").click()
        modal = page.frame_locator("#pd-modal-frame")
        await modal.locator("#dialog-title").wait_for(timeout=15000)
        await page.locator(".pd-modal-close").click()
        await page.locator("#pd-modal").wait_for(state="detached")

        await frame.locator("#create-button").click()
        await modal.locator("#dialog-title").wait_for(timeout=15000)
        await modal.locator("#total-total").wait_for()
        dialog = page.frame(url=lambda u: "/pipedrive/modal/" in u)
        assert dialog is not None
        await shot(page, "deal31-dialog")

        # Link any unlinked line; then change one suggested item and link it by searching.
        unlinked = await modal.locator(".line.unlinked").count()
        for left in range(unlinked - 1, -1, -1):
            line = modal.locator(".line.unlinked").first
            await line.locator("input[type=search]").fill("a")
            await line.locator(".results button", has_text="Link").first.click()
            await until(dialog, f"document.querySelectorAll('.line.unlinked').length === {left}")
        first = modal.locator("#line-0")
        await first.locator("button", has_text="Change").click()
        # Unlinking asks first, in Pipedrive's own confirmation (the host's chrome).
        await page.locator("#pd-confirm button[data-answer='ok']").click()
        await modal.locator("#line-0 .warn-icon").wait_for()
        assert (
            await modal.locator("#line-0 .warn-icon").get_attribute("aria-label")
            == "Warning: not linked to a Xero item"
        )
        await modal.locator("#l0-q").fill("CONS")
        await modal.locator("#item-results-0 button", has_text="Link").first.click()
        await modal.locator("#line-0 .item-state.ok", has_text="CONS-HR").wait_for()
        # (htmx keeps the old class for a moment while the swapped line settles.)
        await until(dialog, "document.querySelectorAll('.line.unlinked').length === 0")

        # Live totals: the server recomputes them when a quantity changes.
        before = await modal.locator("#total-total").inner_text()
        await modal.locator("#l0-quantity").fill("11")
        await modal.locator("#total-total").filter(has_not_text=before).wait_for(timeout=10000)
        await modal.locator("#l0-quantity").fill("10")
        await modal.locator("#total-total", has_text=before).wait_for(timeout=10000)

        # Create: a double click creates one invoice. The modal closes itself (submitted), the
        # host shows Pipedrive's snackbar, and the panel's list refreshes.
        await modal.locator("#submit-invoice").dblclick()
        await page.locator("#pd-modal").wait_for(state="detached", timeout=20000)
        snack = page.locator("#pd-snackbar .pd-snackbar-message")
        await snack.wait_for(timeout=10000)
        assert "created in Xero" in await snack.inner_text()
        await shot(page, "deal31-created")
        invoices = frame.locator(".invoice")
        await invoices.first.wait_for()
        assert await invoices.count() == 1
        assert await invoices.first.locator(".badge").inner_text() == "Draft"
        assert "NZ$" in await invoices.first.inner_text()
        number = await invoices.first.locator(".invoice-number").inner_text()
        # All of it happened in place: the panel was never reloaded.
        assert await inner.evaluate("window.__marker") == "same page"
        await shot(page, "deal31-listed")

        async with page.expect_popup() as popup_info:
            await invoices.first.locator("a", has_text="Open in Xero").click()
        xero = await popup_info.value
        await xero.wait_for_load_state()
        assert xero.url.startswith(settings.sandbox_url)
        assert number in await xero.content()
        await xero.close()
        assert real_errors(errors) == [], errors
    finally:
        await context.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_panel_and_dialog_fit_the_narrow_panel(
    app_server: str, browser: Any, northwind: Any, settings: Any, theme: str
) -> None:
    token = issue_handoff(settings, northwind.user)
    context = await browser.new_context(viewport={"width": 360, "height": 750})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        response = await page.goto(
            f"{app_server}/pipedrive/panel?selectedIds=33&theme={theme}&handoff={token}"
        )
        assert response.status == 200
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(22, 25, 31)" if theme == "dark" else "rgb(255, 255, 255)")
        await page.select_option("#provider-choice", "quickbooks")
        await page.click("#create-button")
        await page.wait_for_selector("#total-total", timeout=15000)
        await page.wait_for_timeout(300)
        await shot(page, f"dialog-33-quickbooks-{theme}")
        overflow = await page.evaluate(
            "(() => { const d = document.getElementById('invoice-dialog');"
            " return d.scrollWidth - d.clientWidth; })()"
        )
        assert overflow <= 0
        page_overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert page_overflow <= 0
        # Every field has a label.
        unlabelled = await page.evaluate(
            """[...document.querySelectorAll(
                 '#invoice-form input:not([type=hidden]), #invoice-form select, '
                 + '#invoice-form textarea')]
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
               .map(e => e.name)"""
        )
        assert unlabelled == []
        # A manual line can be added (a deal without products is invoiced with these).
        await page.click("#add-line")
        await until(page, "document.querySelectorAll('#lines > .line').length > 0")
        await until(page, "document.activeElement.tagName === 'TEXTAREA'")
        await shot(page, f"dialog-33-added-line-{theme}")
        assert real_errors(errors) == [], errors
    finally:
        await context.close()


async def test_approve_then_void_from_the_panel(
    app_server: str, browser: Any, northwind: Any, settings: Any, client: Any
) -> None:
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d))
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    token = issue_handoff(settings, northwind.user)
    context = await browser.new_context(viewport={"width": 420, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    confirmations: list[str] = []

    async def answer(dialog: Any) -> None:
        confirmations.append(dialog.message)
        await dialog.accept()

    page.on("dialog", answer)
    try:
        await page.goto(f"{app_server}/pipedrive/panel?selectedIds=31&handoff={token}")
        invoice = page.locator(".invoice").first
        assert await invoice.locator(".badge").inner_text() == "Draft"
        # A draft cannot be voided: the panel does not offer it.
        assert await invoice.locator('[data-action="VOIDED"]').count() == 0
        await invoice.locator('[data-action="AUTHORISED"]').click()
        await page.locator("#action-notice", has_text="approved").wait_for(timeout=15000)
        invoice = page.locator(".invoice").first
        assert await invoice.locator(".badge").inner_text() == "Awaiting payment"
        assert confirmations == []  # approving asks nothing
        await invoice.locator('[data-action="VOIDED"]').click()
        await page.locator("#action-notice", has_text="voided").wait_for(timeout=15000)
        # Voiding asked first, naming the invoice.
        assert len(confirmations) == 1 and number in confirmations[0]
        invoice = page.locator(".invoice").first
        assert await invoice.locator(".badge").inner_text() == "Voided"
        assert await invoice.locator('[data-action="VOIDED"]').count() == 0
        await shot(page, "deal31-voided")
        assert real_errors(errors) == [], errors
    finally:
        await context.close()


async def test_a_payment_in_xero_shows_in_the_open_panel_without_a_reload(
    app_server: str, browser: Any, northwind: Any, settings: Any, client: Any, sandbox: Any
) -> None:
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d))
    assert made.status_code == 201, made.text
    row = made.json()
    approved = await client.post(
        f"/pipedrive/panel/31/invoices/{row['id']}/actions/AUTHORISED", headers=northwind.headers
    )
    assert approved.status_code == 200
    token = issue_handoff(settings, northwind.user)
    context = await browser.new_context(viewport={"width": 420, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        await page.goto(f"{app_server}/pipedrive/panel?selectedIds=31&handoff={token}")
        badge = page.locator(".invoice .badge").first
        assert await badge.inner_text() == "Awaiting payment"
        await page.evaluate("window.__marker = 'not reloaded'")
        paid = await sandbox.http.post(
            "/_sandbox/xero/payments",
            json={"InvoiceID": row["provider_invoice_id"], "Amount": row["total"]},
        )
        assert paid.status_code == 200, paid.text
        await page.locator(".invoice .badge", has_text="Paid").wait_for(timeout=15000)
        assert await page.evaluate("window.__marker") == "not reloaded"
        await shot(page, "deal31-paid-live")
        assert real_errors(errors) == [], errors
    finally:
        await context.close()


async def test_the_pdf_downloads_with_a_one_time_code_and_no_session_in_any_url(
    app_server: str, browser: Any, northwind: Any, settings: Any, client: Any
) -> None:
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d))
    assert made.status_code == 201, made.text
    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        code = issue_handoff(settings, northwind.user)
        await page.goto(f"{app_server}/pipedrive/panel?selectedIds=31&handoff={code}")
        assert "handoff=" not in page.url
        async with page.expect_download() as info:
            await page.locator('[data-action="DOWNLOAD"]').first.click()
        download = await info.value
        assert download.suggested_filename.endswith(".pdf")
        assert Path(await download.path()).read_bytes().startswith(b"%PDF")
        assert "handoff=" in download.url and "session=" not in download.url
        assert requested and not [u for u in requested if "session=" in u]
        # F5 on this top-level page: signed in again, the code long spent.
        await page.reload()
        assert await page.locator(".invoice").count() == 1
    finally:
        await context.close()


async def test_the_connections_link_opens_signed_in_without_a_session_in_its_url(
    app_server: str, browser: Any, contoso: Any, settings: Any
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    try:
        code = issue_handoff(settings, contoso.user)
        await page.goto(f"{app_server}/pipedrive/panel?selectedIds=131&handoff={code}")
        link = page.locator("#connections-link")
        assert await link.get_attribute("href") == "/connections"
        async with page.expect_popup() as popup_info:
            await link.click()
        popup = await popup_info.value
        await popup.wait_for_selector("#conn-xero")
        assert "Accounting connections" in await popup.inner_text("h1")
        assert popup.url == f"{app_server}/connections"  # the code traded, then taken out
    finally:
        await context.close()
