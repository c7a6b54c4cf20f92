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
from urllib.parse import parse_qs, urlsplit

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._app_process import load_line, summarize  # noqa: E402
from bench._create_world import (  # noqa: E402
    DEAL,
    LATENCY,
    LATENCY_MS,
    PREFIXES,
    QBO_REALM,
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


async def measured_floors(
    world: World, payload: dict[str, Any], samples: int
) -> tuple[float, float]:
    """The floors measured directly, with the same latency: two sequential CRM reads (the
    deal, then its organization) and one invoice create through the adapter alone."""
    from sqlalchemy import select

    from app.connections.models import ProviderConnection
    from app.crm.pipedrive.models import PipedriveInstallation
    from app.db import create_engine, create_sessionmaker
    from app.invoices.rules.lines import provider_draft
    from app.invoices.rules.meta import ProviderMeta
    from app.invoices.schemas import InvoiceIn
    from app.providers import build_providers
    from app.providers.base import Credentials, Organisation

    engine = create_engine(world.settings)
    try:
        async with create_sessionmaker(engine)() as session:
            install = (await session.execute(select(PipedriveInstallation))).scalars().first()
            xero = (
                await session.execute(
                    select(ProviderConnection).where(ProviderConnection.provider == "xero")
                )
            ).scalar_one()
            assert install is not None and xero.access_token
    finally:
        await engine.dispose()
    crm_headers = {"Authorization": f"Bearer {install.access_token}"}
    creds = Credentials(access_token=xero.access_token, tenant_id=xero.tenant_id)
    async with httpx2.AsyncClient(timeout=60) as http:
        adapter = build_providers(world.settings, http)["xero"]  # type: ignore[index]
        features = await adapter.get_features(creds)
        body = InvoiceIn.model_validate(payload)
        meta = ProviderMeta(
            provider="xero",
            organisation=Organisation(id=xero.tenant_id, name="", base_currency="NZD"),
            features=features,
            tax_rates=(),
            currencies=(),
        )
        draft = provider_draft(
            meta,
            contact_id=body.customer.contact_id or "",
            issue_date=body.issue_date,
            due_date=body.due_date,
            currency=body.currency,
            tax_mode=body.tax_mode,
            tax_code=body.tax_code,
            template_id=body.template_id,
            reference=body.reference,
            url=None,
            lines=body.lines,
            discount=body.global_discount,
            bill_email=None,
        )
        crm, provider = [], []
        for _ in range(samples):
            started = time.perf_counter()
            deal = await http.get(f"{install.api_domain}/api/v2/deals/{DEAL}", headers=crm_headers)
            org_id = deal.json()["data"]["org_id"]
            await http.get(
                f"{install.api_domain}/api/v2/organizations/{org_id}", headers=crm_headers
            )
            crm.append(time.perf_counter() - started)
            started = time.perf_counter()
            await adapter.create_invoice(creds, draft, idempotency_key=str(uuid.uuid4()))
            provider.append(time.perf_counter() - started)
    return statistics.median(crm), statistics.median(provider)


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


async def standin_create_rate(sandbox: httpx2.AsyncClient, world: World, invoices: int) -> float:
    """QuickBooks invoice creates per second the stand-in serves on its own, at its concurrency
    limit (10 per realm), with a token of its own (the sandbox's non-interactive consent)."""
    # A fresh minute window: our own runs above used part of the realm's 500 calls a minute.
    await sandbox.post("/_sandbox/clock/advance", json={"seconds": 60})
    qbo = world.settings.quickbooks
    redirect = f"{world.settings.public_url}/connections/quickbooks/callback"
    await sandbox.post("/_sandbox/quickbooks/auto-approve", json={"realm_id": QBO_REALM})
    consent = await sandbox.get(
        "/quickbooks/appcenter/connect/oauth2",
        params={
            "client_id": qbo.client_id,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": redirect,
            "state": "bench",
        },
    )
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    token = await sandbox.post(
        "/quickbooks/oauth/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
        auth=(qbo.client_id, qbo.client_secret),
    )
    headers = {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "Accept": "application/json",
    }
    body = {
        "CustomerRef": {"value": "1"},
        "Line": [
            {
                "Amount": 150,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 150},
            }
        ],
    }
    remaining = invoices

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            response = await sandbox.post(
                f"/quickbooks/api/v3/company/{QBO_REALM}/invoice", json=body, headers=headers
            )
            response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(10)))
    return invoices / (time.perf_counter() - started)


def report(r: dict[str, Any]) -> None:
    print(f"\n== {r['database']} (latency {LATENCY_MS} ms per sandbox call) ==")
    print(f"machine at start: {r['load_start']}; at end: {r['load_end']}")
    draft_measured = r["draft_median_s"] / r["draft_floor_s"]
    create_measured = r["create_median_s"] / r["create_floor_s"]
    print(
        f"(a) draft GET   median {r['draft_median_s'] * 1000:7.1f} ms / floor "
        f"{2 * LATENCY_MS} ms = {r['draft_ratio']:.2f}; / measured floor (deal then org, "
        f"direct) {r['draft_floor_s'] * 1000:.1f} ms = {draft_measured:.2f}  (target <= 1.1)"
    )
    print(
        f"(b) create POST median {r['create_median_s'] * 1000:7.1f} ms / floor "
        f"{LATENCY_MS} ms = {r['create_ratio']:.2f}; / measured floor (adapter create "
        f"alone) {r['create_floor_s'] * 1000:.1f} ms = {create_measured:.2f}  (target <= 1.1)"
    )
    d, c = r["draft_calls"], r["create_calls"]
    print(
        f"(c) calls per draft: CRM {d['crm']:.1f}, Xero {d['xero']:.1f}, "
        f"QuickBooks {d['quickbooks']:.1f}; per invoice created: CRM {c['crm']:.1f}, "
        f"Xero {c['xero']:.1f}, QuickBooks {c['quickbooks']:.1f}"
    )
    d, e = r["throughput"], r["no_latency"]
    target = 150 if r["database"] == "PostgreSQL" else 100
    print(
        f"(d) {d['rate']:.1f} invoices/s at concurrency 20 over {r['companies']} companies "
        f"(QuickBooks, a realm each) = {d['rate'] / 200:.2f} of the floor-bound 200/s "
        f"(20 / {LATENCY_MS} ms), {d['failed']} failed (target >= {target}/s); "
        f"{d['cpu_ms']:.1f} ms of our CPU per create, our app used {d['app_cores']:.2f} cores "
        f"and the stand-ins {d['standin_cores']:.2f} (of the same 2)"
    )
    failures(d)
    spread_ = r["realms"]
    print(
        f"    QuickBooks calls per create {spread_['calls_per_create']:.2f}; invoices went to "
        f"{spread_['used']} realms, at most {spread_['busiest']} to one"
    )
    print(
        f"(e) no injected latency: our create path {e['rate']:.1f} invoices/s at concurrency "
        f"20 over {r['companies']} companies, {e['failed']} failed; {e['cpu_ms']:.1f} ms of our "
        f"CPU per create, our app used {e['app_cores']:.2f} cores and the stand-ins "
        f"{e['standin_cores']:.2f}; the QuickBooks stand-in alone (one realm, at its limit of "
        f"10) {r['standin_rate']:.1f} creates/s = {r['standin_rate'] / e['rate']:.1f}x"
        " (needs >= 5)"
    )
    failures(e)
    print(
        f"(f) our app's CPU: {r['draft_cpu_ms']:.1f} ms per draft "
        f"({r['draft_cpu_failures']} failed), {r['create_cpu_ms']:.1f} ms per create at "
        f"100 ms latency ({r['create_cpu_ms_net']:.1f} without the idle work), "
        f"{e['cpu_ms']:.1f} ms per create without latency "
        f"(target <= 5 each); idle, the app uses {r['idle_cpu_ms_per_s']:.1f} ms of CPU a second"
    )
    print(
        f"    QuickBooks takes 10 requests a second per realm (our Transport keeps the limit): "
        f"{r['companies']} realms allow {10 * r['companies']}/s; at {r['create_cpu_ms']:.1f} ms "
        f"a create, one core would carry {1000 / r['create_cpu_ms']:.0f} creates/s. Setting up "
        f"the {r['companies']} companies (install, connect, link, review) took "
        f"{r['setup_s']:.1f} s"
    )
    for line in r.get("profile", []):
        print(line)


def failures(r: dict[str, Any]) -> None:
    if r["answers"]:
        print(f"    failures by answer: {r['answers']}")


def report_wide(r: dict[str, Any]) -> None:
    print(
        f"(g) two app processes, concurrency 100 over {r['companies']} companies (QuickBooks, "
        f"a realm each, {LATENCY_MS} ms latency): {r['rate']:.1f} invoices/s "
        f"({r['failed']} failed; target >= 250) = {r['rate'] / 1000:.2f} of the floor-bound "
        f"1000/s (100 / {LATENCY_MS} ms; the realms allow {10 * r['companies']}/s), "
        f"{r['cpu_ms']:.1f} ms of our CPU per create, our processes used "
        f"{r['app_cores']:.2f} cores and the stand-ins {r['standin_cores']:.2f}; at start "
        f"{r['load']}; at end {r['load_end']}; set-up of the companies {r['setup_s']:.1f} s"
    )
    spread_ = r["realms"]
    print(
        f"    QuickBooks calls per create {spread_['calls_per_create']:.2f}; invoices went to "
        f"{spread_['used']} realms, at most {spread_['busiest']} to one"
    )
    if r["answers"]:
        print(f"    failures by answer: {r['answers']}; the app's log: {r['app_errors']}")


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
