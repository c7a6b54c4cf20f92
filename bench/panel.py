"""The deal panel and "View all invoices" (issue 13, Measure).

The app and the stand-ins run in processes of their own on free local ports, over a fresh
migrated SQLite database (bench/_sync_world.py). The demo company is installed with Xero
connected, deal 31's organisation linked to Xero's Acme Ltd, one invoice created and approved;
then copies of it are written straight into the Xero stand-in's store (its 60 calls a minute
would measure Xero's limit, not us): 199 more as rows of ours listed in deal 31 (the deal has
200 invoices), and more only at Xero, so that Acme Ltd has 1,000 invoices there, read by the
first "View all". It prints, with the machine's load at start and end:

1. the panel page (GET /pipedrive/panel?selectedIds=31) for the deal with 200 invoices:
   p50/p95 of the time to answer (target p95 <= 150 ms), and of the list fragment;
2. provider calls per panel render after the first: the page, its totals fragment and the
   live-status poll, counted in the stand-in's request log (target 0);
3. View all for the contact with 1,000 invoices: the first view (which reads the contact at
   Xero, 10 pages of 100), then every page of 25 (40 pages) p50/p95 (target <= 300 ms), and
   the provider calls those pages made.

Prints numbers; asserts nothing.

    .venv/bin/python bench/panel.py [--samples 60]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._sync_world import XERO_NZ, Setup, World, clone_invoices  # noqa: E402

DEAL = 31
DEAL_INVOICES = 200
CONTACT_INVOICES = 1000
PANEL = "/pipedrive/panel"
PROVIDERS = ("/xero/", "/quickbooks/")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min; {os.cpu_count()} cores)"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def line(label: str, values: list[float], target: str) -> str:
    p50, p95 = statistics.median(values), percentile(values, 95)
    return (
        f"  {label:<34} n={len(values):<4} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"
        f"  max {max(values) * 1000:7.1f} ms  ({target})"
    )


async def timed(app: httpx2.AsyncClient, url: str, **kw: Any) -> tuple[float, httpx2.Response]:
    start = time.perf_counter()
    response = await app.get(url, **kw)
    elapsed = time.perf_counter() - start
    if response.status_code not in (200, 204):
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
    return elapsed, response


async def provider_calls(sandbox: httpx2.AsyncClient) -> int:
    log = (await sandbox.get("/_sandbox/requests")).json()
    return sum(1 for r in log if r["path"].startswith(PROVIDERS))


def only_at_xero(world: World, template_id: str, count: int) -> None:
    """``count`` more invoices of the same contact in the Xero stand-in only (as if made in
    Xero directly), issued over the last three years."""
    store = world.store
    assert store is not None
    doc = store.get("xero:invoice", template_id)
    assert doc is not None
    today = datetime.now(UTC).date()
    with store.transaction():
        for n in range(count):
            new_id = str(uuid.uuid4())
            copied = copy.deepcopy(doc)
            copied.update(
                InvoiceID=new_id,
                InvoiceNumber=f"XERO-{n:04d}",
                Date=(today - timedelta(days=n % 1095)).isoformat(),
            )
            store.put("xero:invoice", new_id, copied, scope=XERO_NZ)


async def measure(samples: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            World(Path(tmp)) as world,
            httpx2.AsyncClient(base_url=world.app_url, timeout=120) as app,
            httpx2.AsyncClient(base_url=world.sandbox_url, timeout=120) as sandbox,
        ):
            setup = await Setup(world).run(app, sandbox)
            h = setup.headers
            xero = setup.invoices["xero"]
            now = datetime.now(UTC)
            clones = await clone_invoices(world, "xero", xero["id"], DEAL_INVOICES - 1, now)
            # Acme Ltd has 4 seeded invoices, ours, and the clones; the rest only at Xero.
            only_at_xero(world, xero["provider_invoice_id"], CONTACT_INVOICES - 5 - len(clones))
            await panel_numbers(app, sandbox, h, samples)
            await view_all_numbers(app, sandbox, h)


async def panel_numbers(
    app: httpx2.AsyncClient, sandbox: httpx2.AsyncClient, h: dict[str, str], samples: int
) -> None:
    page_url = f"{PANEL}?selectedIds={DEAL}"
    first, page = await timed(app, page_url, headers=h)
    count = page.text.count('class="invoice card"')
    print(
        f"1. The panel for deal {DEAL} with {count} invoices (first render {first * 1000:.0f} ms)"
    )
    await sandbox.delete("/_sandbox/requests")
    # The first totals read Acme Ltd's 1,000 invoices at Xero (once; refresh does it again).
    read, _ = await timed(app, f"{PANEL}/{DEAL}/contact/totals", headers=h)
    print(
        f"  first totals, reading the contact's {CONTACT_INVOICES} invoices at Xero: "
        f"{read * 1000:.0f} ms, {await provider_calls(sandbox)} provider calls"
    )
    for _ in range(3):
        await timed(app, page_url, headers=h)
    await sandbox.delete("/_sandbox/requests")
    pages, lists, totals, polls = [], [], [], []
    for _ in range(samples):
        pages.append((await timed(app, page_url, headers=h))[0])
        lists.append((await timed(app, f"{PANEL}/{DEAL}/invoices", headers=h))[0])
        totals.append((await timed(app, f"{PANEL}/{DEAL}/contact/totals", headers=h))[0])
        polls.append((await timed(app, f"{PANEL}/{DEAL}/invoices/version", headers=h))[0])
    calls = await provider_calls(sandbox)
    print(line("panel page", pages, "target p95 <= 150 ms"))
    print(line("list fragment", lists, "reloaded after a change"))
    print(line("contact totals fragment", totals, "loaded after the page"))
    print(line("live-status poll (rows only)", polls, "every 2 s per open panel"))
    print(
        f"2. Provider calls per panel render after the first: {calls / samples:.2f} "
        f"({calls} over {samples} renders of page + list + totals + poll; target 0)"
    )


async def view_all_numbers(
    app: httpx2.AsyncClient, sandbox: httpx2.AsyncClient, h: dict[str, str]
) -> None:
    url = f"{PANEL}/{DEAL}/contact/invoices"
    api = await app.get(f"/api/v1/deals/{DEAL}/contact-invoices?range=all", headers=h)
    total = api.json()["total"]
    await sandbox.delete("/_sandbox/requests")
    times = []
    pages = math.ceil(total / 25)
    for n in range(1, pages + 1):
        times.append((await timed(app, url, params={"range": "all", "page": n}, headers=h))[0])
    for n in range(1, 6):
        params = {"range": "last_12_months", "status": "unpaid", "page": n}
        times.append((await timed(app, url, params=params, headers=h))[0])
    calls = await provider_calls(sandbox)
    print(f"3. View all for Acme Ltd with {total} invoices (pages of 25)")
    print(line(f"each page ({pages} + 5 filtered)", times, "target <= 300 ms per page"))
    print(f"  provider calls for those pages: {calls} (target 0)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()
    print(f"machine load at start: {load()}")
    await measure(args.samples)
    print(f"machine load at end:   {load()}")


if __name__ == "__main__":
    asyncio.run(main())
