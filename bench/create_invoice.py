"""Creating an invoice from a deal, through our HTTP API, against the sandbox with 100 ms of
injected latency on every sandbox call (issues 6 and 17, Measure).

For each database (SQLite, and PostgreSQL when ``BENCH_POSTGRES_URL`` or a local server at
postgresql+asyncpg://postgres@127.0.0.1:5432 answers), in one run:

(a) the draft GET divided by its floor, two rounds of CRM reads (2 x latency);
(b) the create POST of a reviewed draft divided by its floor, one provider round trip
    (1 x latency);
(c) provider and CRM calls per draft and per invoice, from the sandbox's request log;
(d) invoices per second with 20 concurrent creates (QuickBooks: Xero's 60 calls a minute per
    organisation would measure Xero's limit, not us), spread round-robin over ``--companies``
    companies, each with its own Pipedrive installation and its own QuickBooks realm: one
    realm takes 10 requests a second (our Transport keeps that limit), which would measure
    QuickBooks' limit, not us;
(e) the same without injected latency, against the creates per second the QuickBooks stand-in
    serves on its own: it must be at least 5x faster than our create path (issue 3), so that
    it is never what these numbers measure;
(f) our app's CPU per draft and per create;
(g) on PostgreSQL, two app processes (`serve --workers 2`) at concurrency 100, the creates
    spread over ``--wide-companies`` companies.

(a), (b), (c) and (f)'s drafts use the demo company (Northwind, deal 31); (d), (e), (g) the
sandbox's `bench` companies (``POST /_sandbox/seed?name=bench``), each installed through the
Pipedrive stand-in's OAuth, connected to its own realm and linked like the demo company. The
contact and the items are linked before measuring. Prints numbers; asserts nothing.

    .venv/bin/python bench/create_invoice.py [--samples 10] [--invoices 100] [--companies 20]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._app_process import load_line, summarize  # noqa: E402
from bench._create_floors import measured_floors, standin_create_rate  # noqa: E402
from bench._create_report import report, report_wide  # noqa: E402
from bench._create_world import (  # noqa: E402
    DEAL,
    LATENCY,
    PREFIXES,
    Company,
    Meter,
    World,
    concurrently,
    fresh_minute,
    latency,
    prepared,
    reviewed,
    spread,
)
from tests.support.database import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
    sqlite_url,
)


async def timed(call: Any) -> tuple[float, httpx2.Response]:
    started = time.perf_counter()
    response = await call()
    return time.perf_counter() - started, response


def count(log: list[dict[str, Any]]) -> dict[str, int]:
    out = dict.fromkeys(PREFIXES, 0)
    for entry in log:
        path = entry.get("path", "")
        for name, prefix in PREFIXES.items():
            if path.startswith(prefix):
                out[name] += 1
    return out


async def run(
    database_url: str, label: str, args: argparse.Namespace, profile: Path | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with World(database_url, Path(tmp), profile=profile) as world:
            results = await measure(world, label, args)
        if profile is not None:
            results["profile"] = (
                summarize(profile) if profile.exists() else ["(the app wrote no profile)"]
            )
            if profile.exists() and args.profile_out:
                shutil.copy(profile, f"{args.profile_out}.{label.lower()}")
        return results


async def measure(world: World, label: str, args: argparse.Namespace) -> dict[str, Any]:
    async with (
        httpx2.AsyncClient(base_url=world.app.url, timeout=60) as app,
        httpx2.AsyncClient(base_url=world.sandbox_url, timeout=60) as sandbox,
    ):
        headers, companies, setup_s = await prepared(app, sandbox, args.companies)
        results: dict[str, Any] = {
            "database": label,
            "load_start": load_line(),
            "companies": len(companies),
            "setup_s": setup_s,
        }

        async def get_draft(provider: str) -> httpx2.Response:
            return await app.get(
                f"/api/v1/deals/{DEAL}/invoice-draft",
                params={"provider": provider},
                headers=headers,
            )

        await get_draft("xero")  # warm: field definitions and provider metadata cached
        await get_draft("quickbooks")
        await sandbox.delete("/_sandbox/requests")
        draft_times = []
        draft = None
        for _ in range(args.samples):
            elapsed, response = await timed(lambda: get_draft("xero"))
            if response.status_code != 200:
                raise RuntimeError(response.text[:300])
            draft_times.append(elapsed)
            draft = response.json()
        log = (await sandbox.get("/_sandbox/requests")).json()
        results["draft_median_s"] = statistics.median(draft_times)
        results["draft_ratio"] = results["draft_median_s"] / (2 * LATENCY)
        results["draft_calls"] = {k: v / args.samples for k, v in count(log).items()}

        assert draft is not None
        payload = reviewed(draft)
        await sandbox.delete("/_sandbox/requests")
        create_times = []
        for _ in range(args.samples):
            key = str(uuid.uuid4())
            elapsed, response = await timed(
                lambda key=key: app.post(
                    f"/api/v1/deals/{DEAL}/invoices",
                    json=payload,
                    headers={**headers, "Idempotency-Key": key},
                )
            )
            if response.status_code != 201:
                raise RuntimeError(response.text[:300])
            create_times.append(elapsed)
        log = (await sandbox.get("/_sandbox/requests")).json()
        results["create_median_s"] = statistics.median(create_times)
        results["create_ratio"] = results["create_median_s"] / LATENCY
        results["create_calls"] = {k: v / args.samples for k, v in count(log).items()}

        crm_floor, provider_floor = await measured_floors(world, payload, args.samples)
        results["draft_floor_s"] = crm_floor
        results["create_floor_s"] = provider_floor

        # What the app burns with nothing asked of it (the in-process worker's polling and
        # periodic jobs): part of every number below, and shown apart.
        with Meter(world) as m:
            await asyncio.sleep(3)
        idle = m.app / m.wall
        results["idle_cpu_ms_per_s"] = 1000 * idle

        # CPU per draft: QuickBooks drafts (Xero's 60 calls a minute would throttle them).
        async def one_draft() -> bool:
            return (await get_draft("quickbooks")).status_code == 200

        world.app.profile(True)
        with Meter(world) as m:
            failed = await concurrently(args.drafts, 10, one_draft)
        results["draft_cpu_ms"] = 1000 * m.app / args.drafts
        results["draft_cpu_failures"] = failed

        # (d) The creates spread round-robin over the bench companies, each its own realm.
        answers: collections.Counter[str] = collections.Counter()
        create = creator(app, companies, answers)
        await fresh_minute(sandbox)
        await sandbox.delete("/_sandbox/requests")
        with Meter(world) as m:
            failed = await concurrently(args.invoices, 20, create)
        results["throughput"] = phase(m, args.invoices, failed, answers)
        results["realms"] = await realm_spread(sandbox, args.invoices)
        results["create_cpu_ms"] = 1000 * m.app / args.invoices
        results["create_cpu_ms_net"] = 1000 * (m.app - idle * m.wall) / args.invoices

        # (e) Is the stand-in ever our bottleneck? The same workload with no injected
        # latency, against the time the QuickBooks stand-in itself spends on each create.
        await latency(sandbox, 0)
        await fresh_minute(sandbox)
        answers.clear()
        with Meter(world) as m:
            failed = await concurrently(args.invoices, 20, create)
        results["no_latency"] = phase(m, args.invoices, failed, answers)
        world.app.profile(False)
        await asyncio.sleep(1)  # the statistics written
        results["standin_rate"] = await standin_create_rate(sandbox, world, args.invoices)
        results["load_end"] = load_line()
        return results


def app_errors(log: Path) -> dict[str, int]:
    """The exceptions the app's log ends its tracebacks with, counted by type."""
    found: collections.Counter[str] = collections.Counter()
    for line in log.read_text(errors="replace").splitlines():
        match = re.match(r"^([\w.]+(?:Error|Exception|Timeout)): ", line)
        if match:
            found[match.group(1)] += 1
    return dict(found)


def creator(
    app: httpx2.AsyncClient, companies: list[Company], answers: collections.Counter[str]
) -> Callable[[], Awaitable[bool]]:
    """One create of the next company's reviewed QuickBooks draft (round-robin), with a key
    of its own; what did not answer 201 is counted in ``answers``."""
    next_company = spread(companies)

    async def create() -> bool:
        company = next_company()
        try:
            response = await app.post(
                f"/api/v1/deals/{company.deal}/invoices",
                json=company.payload,
                headers={**company.headers, "Idempotency-Key": str(uuid.uuid4())},
            )
        except httpx2.TransportError as exc:
            answers[type(exc).__name__] += 1
            return False
        if response.status_code != 201:
            code = response.json().get("code") if response.content else None
            answers[f"{response.status_code} {code}"] += 1
        return response.status_code == 201

    return create


async def realm_spread(sandbox: httpx2.AsyncClient, invoices: int) -> dict[str, float]:
    """From the stand-in's request log: QuickBooks calls per create, the realms that got an
    invoice and the most invoices one realm got (did the creates spread as meant?)."""
    log = (await sandbox.get("/_sandbox/requests", params={"path": "/quickbooks/"})).json()
    per_realm: collections.Counter[str] = collections.Counter()
    for entry in log:
        found = re.match(r"^/quickbooks/api/v3/company/(\w+)/invoice$", entry["path"])
        if found and entry["method"] == "POST":
            per_realm[found.group(1)] += 1
    return {
        "calls_per_create": len(log) / invoices,
        "used": len(per_realm),
        "busiest": max(per_realm.values(), default=0),
    }


def phase(
    m: Meter, invoices: int, failed: int, answers: collections.Counter[str]
) -> dict[str, Any]:
    """What one throughput phase measured: rate, failures, our CPU and both sides' cores."""
    return {
        "rate": (invoices - failed) / m.wall,
        "failed": failed,
        "cpu_ms": 1000 * m.app / invoices,
        "app_cores": m.app / m.wall,
        "standin_cores": m.standin / m.wall,
        "answers": dict(answers),
    }


async def run_wide(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Concurrency 100 against two app processes (`serve --workers 2`), 100 ms latency, the
    creates spread over ``--wide-companies`` companies."""
    with tempfile.TemporaryDirectory() as tmp:
        async with World(database_url, Path(tmp), workers=2) as world:
            limits = httpx2.Limits(max_connections=200, max_keepalive_connections=200)
            async with (
                httpx2.AsyncClient(base_url=world.app.url, timeout=60, limits=limits) as app,
                httpx2.AsyncClient(base_url=world.sandbox_url, timeout=60) as sandbox,
            ):
                _, companies, setup_s = await prepared(app, sandbox, args.wide_companies)
                answers: collections.Counter[str] = collections.Counter()
                create = creator(app, companies, answers)
                # Warm both processes (each has its own metadata caches and connections):
                # every company twice.
                await concurrently(2 * len(companies), 20, create)
                answers.clear()
                await fresh_minute(sandbox)
                await sandbox.delete("/_sandbox/requests")
                load = load_line()
                with Meter(world) as m:
                    failed = await concurrently(args.wide_invoices, 100, create)
                return {
                    **phase(m, args.wide_invoices, failed, answers),
                    "realms": await realm_spread(sandbox, args.wide_invoices),
                    "app_errors": app_errors(world.var_dir / "app.log"),
                    "load": load,
                    "load_end": load_line(),
                    "companies": len(companies),
                    "setup_s": setup_s,
                }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--invoices", type=int, default=100)
    parser.add_argument("--drafts", type=int, default=60)
    parser.add_argument("--wide-invoices", type=int, default=400)
    parser.add_argument(
        "--companies",
        type=int,
        default=20,
        help="companies (a Pipedrive installation and a QuickBooks realm each) that (d) and "
        "(e) spread their creates over",
    )
    parser.add_argument(
        "--wide-companies",
        type=int,
        default=50,
        help="companies that (g) spreads its creates over: at concurrency 100 and 100 ms, 20 "
        "realms would allow 200/s, under (g)'s target of 250",
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the (single) app process under cProfile and print where its time went",
    )
    parser.add_argument("--profile-out", help="keep the profile's statistics at this path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "app.prof" if args.profile else None
        report(await run(sqlite_url(Path(tmp)), "SQLite", args, profile))
    if args.skip_postgres:
        return
    base = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    try:
        url = await create_postgres_database(base)
    except Exception as exc:  # no server: say so and stop
        print(f"\nPostgreSQL skipped: {exc}")
        return
    try:
        with tempfile.TemporaryDirectory() as tmp:
            profile = Path(tmp) / "app.prof" if args.profile else None
            report(await run(url, "PostgreSQL", args, profile))
    finally:
        await drop_postgres_database(url)
    url = await create_postgres_database(base)
    try:
        report_wide(await run_wide(url, args))
    finally:
        await drop_postgres_database(url)


if __name__ == "__main__":
    asyncio.run(main())
