"""Creating invoices through our adapters against the sandbox, with 50 ms of latency per call:
calls per invoice, wall time against the latency floor, and speed against the official SDKs.

Run: .venv/bin/python bench/adapters.py [--invoices 200] [--xero-invoices 50]
                                        [--concurrency 10] [--latency-mode processing|fault]

One run, bounded (a minute or two; the first run also builds bench/.venv-sdk):

1. The stand-ins start in a process of their own on a free port (reset, demo seed) and tokens
   for the Xero NZ organisation and the QuickBooks realm come from their OAuth flows in
   non-interactive mode (``/_sandbox/{xero,quickbooks}/auto-approve``).
2. Every API call gets 50 ms. By default through the stand-ins' processing-time controls
   (``/_sandbox/xero/latency``, ``/_sandbox/quickbooks/processing-time``), which sleep inside
   the per-tenant concurrency gates, as a real server's work counts against its concurrent
   limit. ``--latency-mode fault`` uses ``/_sandbox/faults`` latency instead, which sleeps in a
   middleware in front of the gates, so a client over the concurrent limit is never refused.
3. For each provider, our adapter then the official SDK (xero-python; python-quickbooks with
   intuit-oauth; in bench/.venv-sdk, run by bench/_sdk_worker.py) create the same invoices at
   the same concurrency, contact and items already linked (ids passed), each with its own
   idempotency key. The sandbox's request log, cleared before each run, gives the calls.

Rate limits: the sandbox has no control to lift or raise them (its control API offers
auto-approve, latency/processing time, faults, clock, reset/seed), so the workload stays under
them. QuickBooks allows 500 calls/min per realm: 200 invoices fit. Xero allows 60 calls/min
per tenant, so Xero runs create 50 invoices each, and the sandbox clock
(``/_sandbox/clock/advance``) is moved to the start of the next minute window before every run,
which is what waiting for the next minute would do, without the wait.

The floor is calls x latency / allowed concurrency, where allowed concurrency =
min(--concurrency, the provider's concurrent limit: Xero 5, QuickBooks 10), or for QuickBooks,
whose realms take 10 requests a second, the time that pace needs when that is longer. The
stand-ins' own CPU during each run is printed beside it, and the ratio with that time taken
out of the wall time (one interpreter serves every call, so its work queues up). No
thresholds are asserted; the numbers are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from _app_process import load_line, tree_cpu
from _support import QBO_CLIENT, REDIRECT, ROOT, XERO_CLIENT, SandboxProcess

from app.config import SANDBOX_PATHS, QuickBooksSettings, XeroSettings
from app.kit.oauth import new_state
from app.providers.base import (
    AccountingProvider,
    Credentials,
    InvoiceDraft,
    InvoiceLineDraft,
    TaxMode,
)
from app.providers.quickbooks import QuickBooksProvider
from app.providers.quickbooks.spec import RATE_LIMITS as QBO_RATE_LIMITS
from app.providers.xero import XeroProvider

LATENCY_MS = 50
XERO_NZ = "b1f3c0de-0000-4000-8000-000000000001"
QBO_REALM = "9130350000000001"
XERO_USER = "nora@northwind.test"
# Per-tenant limits the stand-ins enforce (xero.md §15, quickbooks.md §12).
XERO_MINUTE, XERO_CONCURRENT = 60, 5
QBO_MINUTE, QBO_CONCURRENT = 500, 10
# Calls per minute window kept free for retries when sizing a run.
HEADROOM = 5

SDK_VENV = ROOT / "bench" / ".venv-sdk"
SDK_WORKER = ROOT / "bench" / "_sdk_worker.py"
SDK_REQUIREMENTS = ("xero-python==15.2.0", "python-quickbooks==0.9.12", "intuit-oauth==1.2.6")


def seeded_id(name: str) -> str:
    """The Xero stand-in's fixed ids for seeded records (docs/sandbox-xero.md, "Demo seed ids")."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-xero:{name}"))


def workloads(today: date) -> dict[str, dict[str, Any]]:
    """One invoice per provider, as plain data shared with the SDK worker: two linked items."""
    dates = {"issue_date": today.isoformat(), "due_date": (today + timedelta(days=7)).isoformat()}
    return {
        "xero": {
            **dates,
            "contact_id": seeded_id(f"{XERO_NZ}:contact:Acme Ltd"),
            "currency": "NZD",
            "tax_mode": "Exclusive",
            "reference": "Bench",
            "lines": [
                {"description": "Consulting hour", "quantity": "10", "unit_price": "150",
                 "item_code": "CONS-HR", "tax_code": "OUTPUT2", "account_code": "200",
                 "discount_rate": "10"},
                {"description": "Annual licence", "quantity": "2", "unit_price": "1200",
                 "item_code": "LIC-ANN", "tax_code": "OUTPUT2", "account_code": "200"},
            ],
        },
        "quickbooks": {
            **dates,
            "contact_id": "1",
            "currency": "USD",
            "tax_mode": "Exclusive",
            "tax_code": "NON",
            "reference": "Bench",
            "lines": [
                {"description": "Consulting hour", "quantity": "10", "unit_price": "150",
                 "item_id": "1"},
                {"description": "Annual licence", "quantity": "2", "unit_price": "1200",
                 "item_id": "3"},
            ],
        },
    }  # fmt: skip


def draft_of(spec: dict[str, Any], index: int) -> InvoiceDraft:
    def dec(value: str | None) -> Decimal | None:
        return Decimal(value) if value is not None else None

    return InvoiceDraft(
        contact_id=spec["contact_id"],
        issue_date=date.fromisoformat(spec["issue_date"]),
        due_date=date.fromisoformat(spec["due_date"]),
        currency=spec["currency"],
        tax_mode=TaxMode(spec["tax_mode"]),
        reference=f"{spec['reference']} {index}",
        tax_code=spec.get("tax_code"),
        lines=tuple(
            InvoiceLineDraft(
                description=line["description"],
                quantity=Decimal(line["quantity"]),
                unit_price=Decimal(line["unit_price"]),
                item_code=line.get("item_code"),
                item_id=line.get("item_id"),
                tax_code=line.get("tax_code"),
                account_code=line.get("account_code"),
                discount_rate=dec(line.get("discount_rate")),
            )
            for line in spec["lines"]
        ),
    )


# --- the SDKs' own virtualenv ------------------------------------------------------------------


def sdk_python() -> Path:
    """bench/.venv-sdk/bin/python with the SDKs installed (built on first use, from PyPI)."""
    python = SDK_VENV / "bin" / "python"
    digest = hashlib.sha256("\n".join(SDK_REQUIREMENTS).encode()).hexdigest()[:12]
    stamp = SDK_VENV / f".installed-{digest}"
    if stamp.exists() and python.exists():
        return python
    print(f"Setting up {SDK_VENV.relative_to(ROOT)}: {', '.join(SDK_REQUIREMENTS)}", flush=True)
    if not python.exists():
        interpreter = shutil.which("python3") or sys.executable
        subprocess.run([interpreter, "-m", "venv", str(SDK_VENV)], check=True, timeout=120)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *SDK_REQUIREMENTS],
        check=True,
        timeout=300,
    )  # fmt: skip
    for old in SDK_VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()
    return python


# --- the sandbox --------------------------------------------------------------------------------


class Sandbox:
    """The control API of the running stand-ins."""

    def __init__(self, http: httpx2.AsyncClient, pid: int) -> None:
        self.http = http
        self.pid = pid

    def cpu(self) -> float:
        """CPU seconds the stand-ins' process has used so far."""
        return tree_cpu(self.pid)

    async def _ok(self, response: httpx2.Response) -> Any:
        if response.status_code >= 300:
            raise RuntimeError(
                f"sandbox control {response.request.method} {response.request.url.path} "
                f"answered {response.status_code}: {response.text[:300]}"
            )
        return response.json()

    async def post(self, path: str, body: Any = None) -> Any:
        return await self._ok(await self.http.post(path, json=body))

    async def next_minute_window(self) -> None:
        """Move the sandbox clock to the start of its next minute (fresh per-minute budgets)."""
        clock = await self._ok(await self.http.get("/_sandbox/clock"))
        into = datetime.fromisoformat(clock["now"]).timestamp() % 60
        await self.post("/_sandbox/clock/advance", {"seconds": 60 - into + 0.05})

    async def clear_requests(self) -> None:
        await self._ok(await self.http.delete("/_sandbox/requests"))

    async def requests(self, prefix: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = await self._ok(
            await self.http.get("/_sandbox/requests", params={"path": prefix})
        )
        return [e for e in entries if e["path"].startswith(prefix)]


def provider_settings(url: str) -> tuple[XeroSettings, QuickBooksSettings]:
    # Every URL given explicitly, so that no XERO_* / QUICKBOOKS_* variable in the environment
    # can point a benchmark run anywhere but this sandbox.
    xero_urls = {field: url + path for field, path in SANDBOX_PATHS["xero"].items()}
    qbo_urls = {field: url + path for field, path in SANDBOX_PATHS["quickbooks"].items()}
    xero = XeroSettings(
        client_id=XERO_CLIENT.client_id, client_secret=XERO_CLIENT.client_secret, **xero_urls
    )
    qbo = QuickBooksSettings(
        client_id=QBO_CLIENT.client_id,
        client_secret=QBO_CLIENT.client_secret,
        minor_version=75,
        **qbo_urls,
    )
    return xero, qbo


async def authorize(provider: XeroProvider | QuickBooksProvider) -> tuple[str, dict[str, str]]:
    """Run the authorization-code flow against an armed auto-approve: (access token, callback)."""
    auth = provider.oauth.authorization_request(redirect_uri=REDIRECT, state=new_state())
    response = await provider.oauth.http.get(auth.url, follow_redirects=False)
    location = response.headers.get("location", "")
    if not response.is_redirect or not location.startswith(REDIRECT):
        raise RuntimeError(f"authorize did not redirect back: {response.status_code} {location}")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if "code" not in params:
        raise RuntimeError(f"authorize refused: {params}")
    tokens = await provider.oauth.exchange_code(
        code=params["code"], redirect_uri=REDIRECT, code_verifier=auth.code_verifier
    )
    return tokens.access_token, params


# --- the runs -----------------------------------------------------------------------------------


@dataclass
class Run:
    provider: str
    client: str
    invoices: int
    created: int
    failed: int
    calls: int
    throttled: int
    wall: float
    allowed_concurrency: int
    errors: list[str]
    # Distinct invoice totals the provider stored: the same single value for both clients
    # shows they created the same invoice.
    totals: list[str]
    # The provider's requests a second per tenant (QuickBooks 10 per realm), None for none.
    per_second_limit: int | None = None
    # CPU seconds the stand-ins spent during the run: one interpreter serves every request,
    # so its own work on concurrent calls queues up and lengthens the wall time of any client.
    standin_cpu: float = math.nan

    @property
    def net_ratio(self) -> float:
        """Wall time less the stand-ins' CPU, over the floor: the client's own share."""
        return (self.wall - self.standin_cpu) / self.floor if self.floor else math.nan

    @property
    def calls_per_invoice(self) -> float:
        return self.calls / self.invoices if self.invoices else math.nan

    @property
    def per_second(self) -> float:
        return self.created / self.wall if self.wall else math.nan

    @property
    def floor(self) -> float:
        # Refused 429s do no work; the calls that got through each take the latency. A
        # per-second limit also paces them: after the first second's calls, one a 1/limit s.
        through = self.calls - self.throttled
        waiting = through * LATENCY_MS / 1000 / self.allowed_concurrency
        if not self.per_second_limit or through <= self.per_second_limit:
            return waiting
        paced = (through - self.per_second_limit) / self.per_second_limit + LATENCY_MS / 1000
        return max(waiting, paced)


async def run_ours(
    provider: AccountingProvider,
    creds: Credentials,
    spec: dict[str, Any],
    total: int,
    concurrency: int,
    deadline: float,
) -> tuple[int, int, float, list[str], list[str]]:
    """Create ``total`` invoices with ``concurrency`` workers.

    Returns (created, failed, wall seconds, first errors, distinct invoice totals).
    """
    prefix = f"bench-ours-{uuid.uuid4().hex[:8]}"
    drafts = [draft_of(spec, i) for i in range(total)]
    queue = iter(range(total))
    created = failed = 0
    errors: list[str] = []
    totals: set[str] = set()

    async def worker() -> None:
        nonlocal created, failed
        for index in queue:
            try:
                invoice = await provider.create_invoice(
                    creds, drafts[index], idempotency_key=f"{prefix}-{index}"
                )
            except Exception as exc:
                failed += 1
                if len(errors) < 3:
                    errors.append(f"{type(exc).__name__}: {exc}"[:500])
            else:
                created += 1
                totals.add(f"{invoice.total:.2f}")

    started = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), deadline)
    except TimeoutError:
        errors.append(f"stopped at the {deadline:.0f} s deadline")
        failed = total - created
    return created, failed, time.perf_counter() - started, errors, sorted(totals)


def run_theirs(python: Path, job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), str(SDK_WORKER)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=job["deadline_seconds"] + 30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"SDK worker failed ({done.returncode}): {done.stderr[-1500:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def measure_provider(
    name: str,
    provider: AccountingProvider,
    creds: Credentials,
    sandbox: Sandbox,
    sdk: dict[str, Any],
    *,
    spec: dict[str, Any],
    total: int,
    concurrency: int,
    limit: int,
    prefix: str,
    python: Path | None,
    deadline: float,
    per_second: int | None = None,
) -> list[Run]:
    allowed = min(concurrency, limit)
    runs: list[Run] = []

    await sandbox.next_minute_window()
    await sandbox.clear_requests()
    cpu = sandbox.cpu()
    created, failed, wall, errors, totals = await run_ours(
        provider, creds, spec, total, concurrency, deadline
    )
    cpu = sandbox.cpu() - cpu
    log = await sandbox.requests(prefix)
    runs.append(
        Run(name, "ours", total, created, failed, len(log),
            sum(1 for e in log if e["status"] == 429), wall, allowed, errors, totals,
            per_second, cpu)
    )  # fmt: skip

    if python is None:
        return runs
    await sandbox.next_minute_window()
    await sandbox.clear_requests()
    job = {
        **sdk,
        "provider": name.lower(),
        "invoices": total,
        "concurrency": concurrency,
        "key_prefix": f"bench-sdk-{uuid.uuid4().hex[:8]}",
        "deadline_seconds": deadline,
        "invoice": spec,
    }
    cpu = sandbox.cpu()
    try:
        theirs = await asyncio.to_thread(run_theirs, python, job)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        runs.append(
            Run(name, "SDK", total, 0, total, 0, 0, math.nan, allowed, [str(exc)], [], per_second)
        )
        return runs
    log = await sandbox.requests(prefix)
    runs.append(
        Run(name, theirs["sdk"], total, theirs["created"], theirs["failed"], len(log),
            sum(1 for e in log if e["status"] == 429), theirs["wall_seconds"], allowed,
            theirs["errors"], theirs["totals"], per_second, sandbox.cpu() - cpu)
    )  # fmt: skip
    return runs


def table(runs: list[Run]) -> str:
    head = (
        f"{'provider':<10} {'client':<44} {'invoices':>8} {'calls':>5} {'calls/inv':>9} "
        f"{'429s':>4} {'wall s':>7} {'inv/s':>7} {'floor s':>7} {'wall/floor':>10} "
        f"{'stand-in s':>10} {'net/floor':>9}"
    )
    rows = [head, "-" * len(head)]
    for r in runs:
        made = f"{r.created}/{r.invoices}"
        rows.append(
            f"{r.provider:<10} {r.client[:44]:<44} {made:>8} {r.calls:>5} "
            f"{r.calls_per_invoice:>9.2f} {r.throttled:>4} {r.wall:>7.2f} {r.per_second:>7.1f} "
            f"{r.floor:>7.2f} {r.wall / r.floor if r.floor else math.nan:>10.2f} "
            f"{r.standin_cpu:>10.2f} {r.net_ratio:>9.2f}"
        )
    return "\n".join(rows)


async def main(args: argparse.Namespace) -> int:
    python = None if args.skip_sdk else sdk_python()
    print(f"machine at start: {load_line()}", flush=True)
    spec = workloads(date.today())
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxProcess(Path(tmp) / "sandbox.db") as server,
    ):
        limits = httpx2.Limits(max_connections=args.concurrency * 2)
        async with (
            httpx2.AsyncClient(base_url=server.url, timeout=30) as control,
            httpx2.AsyncClient(timeout=30, limits=limits) as http,
        ):
            assert server.process is not None
            sandbox = Sandbox(control, server.process.pid)
            xero_settings, qbo_settings = provider_settings(server.url)
            xero = XeroProvider(xero_settings, http)
            qbo = QuickBooksProvider(qbo_settings, http)

            await sandbox.post(
                "/_sandbox/xero/auto-approve", {"email": XERO_USER, "tenant_ids": [XERO_NZ]}
            )
            xero_token, _ = await authorize(xero)
            await sandbox.post("/_sandbox/quickbooks/auto-approve", {"realm_id": QBO_REALM})
            qbo_token, callback = await authorize(qbo)
            if callback.get("realmId") != QBO_REALM:
                raise RuntimeError(f"QuickBooks connected realm {callback.get('realmId')}")

            if args.latency_mode == "processing":
                await sandbox.post("/_sandbox/xero/latency", {"ms": LATENCY_MS})
                await sandbox.post(
                    "/_sandbox/quickbooks/processing-time", {"seconds": LATENCY_MS / 1000}
                )
            else:
                await sandbox.post(
                    "/_sandbox/faults",
                    {"kind": "latency", "latency_ms": LATENCY_MS,
                     "path": r"^/(xero/api/api\.xro/2\.0|quickbooks/api/v3)/"},
                )  # fmt: skip

            print(
                f"Sandbox on {server.url}; {LATENCY_MS} ms per API call ({args.latency_mode} "
                f"latency); concurrency {args.concurrency}; Xero {args.xero_invoices} invoices "
                f"per client (60 calls/min per tenant), QuickBooks {args.invoices}.",
                flush=True,
            )
            common = {"sandbox_url": server.url}
            runs = await measure_provider(
                "Xero", xero, Credentials(access_token=xero_token, tenant_id=XERO_NZ), sandbox,
                {**common, "access_token": xero_token, "tenant_id": XERO_NZ,
                 "client_id": XERO_CLIENT.client_id, "client_secret": XERO_CLIENT.client_secret},
                spec=spec["xero"], total=args.xero_invoices, concurrency=args.concurrency,
                limit=XERO_CONCURRENT, prefix="/xero/api/api.xro/2.0/", python=python,
                deadline=args.deadline,
            )  # fmt: skip
            runs += await measure_provider(
                "QuickBooks", qbo, Credentials(access_token=qbo_token, tenant_id=QBO_REALM),
                sandbox,
                {**common, "access_token": qbo_token, "tenant_id": QBO_REALM,
                 "client_id": QBO_CLIENT.client_id, "client_secret": QBO_CLIENT.client_secret},
                spec=spec["quickbooks"], total=args.invoices, concurrency=args.concurrency,
                limit=QBO_CONCURRENT, prefix=f"/quickbooks/api/v3/company/{QBO_REALM}/",
                python=python, deadline=args.deadline, per_second=QBO_RATE_LIMITS.per_second,
            )  # fmt: skip

    print()
    print(table(runs))
    print(f"machine at end: {load_line()}")
    print()
    for name in ("Xero", "QuickBooks"):
        ours = next(r for r in runs if r.provider == name and r.client == "ours")
        theirs = next((r for r in runs if r.provider == name and r.client != "ours"), None)
        if theirs is not None and theirs.created:
            print(
                f"{name}: ours {ours.per_second:.1f} inv/s vs {theirs.client} "
                f"{theirs.per_second:.1f} inv/s -> ours/theirs = "
                f"{ours.per_second / theirs.per_second:.2f}x; their calls/invoice "
                f"{theirs.calls_per_invoice:.2f}; invoice total ours "
                f"{'/'.join(ours.totals)}, theirs {'/'.join(theirs.totals)}"
            )
    for r in runs:
        for error in r.errors:
            print(f"{r.provider} {r.client}: {error}")
    # Our own failures mean the benchmark did not measure what it says; the SDKs' are reported.
    return 1 if any(r.failed for r in runs if r.client == "ours") else 0


def positive_below(limit: int) -> Any:
    def check(text: str) -> int:
        value = int(text)
        if not 0 < value <= limit:
            raise argparse.ArgumentTypeError(f"must be between 1 and {limit}")
        return value

    return check


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--invoices",
        type=positive_below(QBO_MINUTE - HEADROOM),
        default=200,
        help="QuickBooks invoices per client (under 500 calls/min per realm)",
    )
    parser.add_argument(
        "--xero-invoices",
        type=positive_below(XERO_MINUTE - HEADROOM),
        default=50,
        help="Xero invoices per client (under 60 calls/min per tenant)",
    )
    parser.add_argument("--concurrency", type=positive_below(50), default=10)
    parser.add_argument("--latency-mode", choices=("processing", "fault"), default="processing")
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds per run, at most")
    parser.add_argument("--skip-sdk", action="store_true", help="measure our adapters only")
    sys.exit(asyncio.run(main(parser.parse_args())))
