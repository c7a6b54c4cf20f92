"""Exactly once when processes die (issue 11, item 4): creates with distinct keys while the app
and the worker are SIGKILLed at random moments, then recovery with no client involved.

One run per database (SQLite, and PostgreSQL when a local server answers or
``BENCH_POSTGRES_URL`` is set):

1. the stand-ins in a process of their own (they are the provider: they never die), with
   ``--latency-ms`` injected on every call;
2. our app (``invoicing serve``, no in-process worker) and one worker (``invoicing worker``)
   as child processes; a company installed, QuickBooks connected, the deal's customer and
   items linked (QuickBooks: Xero's stand-in allows 60 calls a minute per organisation);
3. ``--creates`` creates of deal 31, each with its own Idempotency-Key, spread over
   ``--window`` seconds by a client that retries a key (same key) until it gets an answer;
   meanwhile ``--kills`` times, at random moments, the app and the worker are SIGKILLed and
   restarted at once;
4. after the last restart the client stops retrying; the reconciler alone resolves what is
   left. Measured: seconds from that restart until no intent is pending or unknown;
5. then the provider's invoices are compared with our intents through their markers:
   provider invoices, intents created, duplicates (two provider invoices for one intent),
   orphans (a provider invoice no created intent records, or a created intent whose invoice
   does not exist).

    .venv/bin/python bench/crash.py [--creates 100] [--kills 5] [--latency-ms 50] [--seed 1]

Prints the figures; asserts nothing (``tests/invoices/test_crash.py`` runs it smaller and
asserts).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import migrate  # noqa: E402
from app.config import Settings, load_settings  # noqa: E402
from bench._crash_count import count_outcomes, open_intents  # noqa: E402
from bench._create_world import DEAL, connect, install, link_everything, reviewed  # noqa: E402
from bench._support import SandboxProcess, app_env, free_port  # noqa: E402
from tests.support.database import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
    sqlite_url,
)

PROVIDER = "quickbooks"


@dataclass
class Report:
    database: str
    creates: int
    kills: int
    answered: dict[str, int] = field(default_factory=dict)
    recovery_seconds: float = 0.0
    outcome: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        o = self.outcome
        return [
            f"{self.database}: {self.creates} creates, {self.kills} SIGKILLs of app + worker",
            f"  client answers (it stops retrying at the last kill): {self.answered}",
            f"  intents {o['intents']}: created {o['created']}, failed {o['failed']}, "
            f"still open {o['open']}; {self.creates - o['intents']} keys never became intents "
            "(their request died with the app before it was recorded, and was not retried)",
            f"  provider invoices {o['provider_invoices']} (marked by an intent); "
            f"duplicates {o['duplicates']}; orphans {o['orphans']} "
            f"({o['unrecorded']} at the provider without their row, "
            f"{o['missing']} rows whose invoice does not exist)",
            f"  from the last restart to every intent resolved: {self.recovery_seconds:.1f} s",
        ]


class Children:
    """The app and one worker as child processes that can be killed and restarted."""

    def __init__(self, settings: Settings, port: int, lease: float, check: float) -> None:
        self.port = port
        self.var_dir = settings.var_dir
        self.env = dict(os.environ, **app_env(settings))
        self.env.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=settings.database_url,
            WORKER_IN_APP="false",
            INTENT_LEASE_SECONDS=str(lease),
            INTENT_CHECK_SECONDS=str(check),
            SCHEDULER_TICK_SECONDS=str(min(check, 5.0)),
            WORKER_POLL_SECONDS="0.2",
            CATCH_UP_MINUTES="0",
            LOG_LEVEL="INFO",
            LOG_FORMAT="console",
        )
        self.app: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "app.cli", *args]
        # Each process's log goes to a file of its own next to the database, kept across
        # restarts (appended), for reading what a run left open.
        log = open(Path(self.var_dir) / f"{args[0]}.log", "ab")  # noqa: SIM115
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    async def start(self) -> None:
        self.app = self._spawn("serve", "--port", str(self.port))
        self.worker = self._spawn("worker")
        deadline = time.monotonic() + 60
        async with httpx2.AsyncClient(timeout=1) as http:
            while True:
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/healthz")).is_success:
                        return
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the app did not start within 60 s")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        for process in (self.app, self.worker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()

    def stop(self) -> None:
        for process in (self.app, self.worker):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


async def one_key(
    http: httpx2.AsyncClient,
    headers: dict[str, str],
    payload: dict[str, Any],
    key: str,
    start_at: float,
    stop: asyncio.Event,
) -> str:
    """A client that retries its key until it gets an answer, or, once told to stop, until
    its request at least reached the app."""
    await asyncio.sleep(start_at)
    last = "the app died mid-request"
    while True:
        try:
            response = await http.post(
                f"/api/v1/deals/{DEAL}/invoices",
                json=payload,
                headers={**headers, "Idempotency-Key": key},
            )
            if response.status_code in (200, 201):
                return "created"
            if response.status_code == 422:
                return "refused"
            last = f"{response.status_code} {response.text[:120]}"
        except httpx2.ConnectError:
            # Never reached the app (it is restarting): not an intent yet, so keep trying.
            await asyncio.sleep(0.3)
            continue
        except httpx2.TransportError:
            last = "the app died mid-request"  # the intent may exist
        if stop.is_set():
            return f"no answer (left to the reconciler): {last}"
        await asyncio.sleep(0.3)


async def killer(children: Children, moments: list[float], stop: asyncio.Event) -> float:
    """SIGKILL and restart at each moment (seconds from now); clients stop retrying at the
    last kill, so what it interrupts is left to the reconciler. Returns when the last restart
    answered, as a monotonic time."""
    started = time.monotonic()
    ready = started
    for n, moment in enumerate(moments, 1):
        await asyncio.sleep(max(0.0, started + moment - time.monotonic()))
        if n == len(moments):
            stop.set()
        children.kill()
        await children.start()
        ready = time.monotonic()
    return ready


async def prepare(settings: Settings, app_url: str, sandbox_url: str) -> tuple[Any, Any]:
    async with (
        httpx2.AsyncClient(base_url=app_url, timeout=60) as app,
        httpx2.AsyncClient(base_url=sandbox_url, timeout=60) as sandbox,
    ):
        headers = await install(app, sandbox)
        await connect(app, sandbox, headers, PROVIDER)
        await link_everything(app, headers, PROVIDER)
        draft = await app.get(
            f"/api/v1/deals/{DEAL}/invoice-draft", params={"provider": PROVIDER}, headers=headers
        )
        return headers, reviewed(draft.json())


async def run(
    database_url: str,
    var_dir: Path,
    *,
    creates: int = 100,
    kills: int = 5,
    latency_ms: int = 50,
    window: float = 40.0,
    lease: float = 30.0,
    check: float = 10.0,
    seed: int = 1,
    label: str = "",
) -> Report:
    """One crash run over ``database_url``; see the module's docstring."""
    ports = {"app": free_port(), "sandbox": free_port()}
    settings = load_settings(
        app_env="test",
        database_url=database_url,
        var_dir=var_dir,
        public_url=f"http://127.0.0.1:{ports['app']}",
        sandbox_url=f"http://127.0.0.1:{ports['sandbox']}",
    )
    await asyncio.to_thread(migrate, settings)
    command = [
        sys.executable, "-m", "app.cli", "sandbox", "--port", str(ports["sandbox"]),
        "--db", str(var_dir / "sandbox.db"), "--reset", "--seed", "demo", "--no-webhooks",
    ]  # fmt: skip
    sandbox = SandboxProcess(
        var_dir / "sandbox.db", port=ports["sandbox"], command=command, env=app_env(settings)
    )
    children = Children(settings, ports["app"], lease, check)
    report = Report(label or database_url.split(":")[0], creates, kills)
    rng = random.Random(seed)
    with sandbox:
        await children.start()
        try:
            app_url = f"http://127.0.0.1:{ports['app']}"
            headers, payload = await prepare(settings, app_url, sandbox.url)
            async with httpx2.AsyncClient(base_url=sandbox.url, timeout=30) as control:
                await control.post(
                    "/_sandbox/faults", json={"kind": "latency", "latency_ms": latency_ms}
                )
            report = await crash_phase(
                children, settings, app_url, headers, payload, report, rng, window
            )
        finally:
            children.stop()
    return report


async def crash_phase(
    children: Children,
    settings: Settings,
    app_url: str,
    headers: dict[str, str],
    payload: dict[str, Any],
    report: Report,
    rng: random.Random,
    window: float,
) -> Report:
    stop = asyncio.Event()
    keys = [f"crash-{rng.getrandbits(64):016x}" for _ in range(report.creates)]
    # One kill at a random moment in each of the first ``kills`` of ``kills + 1`` equal slots
    # of the window: restarts do not pile up, and creates continue after the last one.
    slot = window / (report.kills + 1)
    moments = [rng.uniform(i * slot + 0.2 * slot, (i + 1) * slot) for i in range(report.kills)]
    async with httpx2.AsyncClient(base_url=app_url, timeout=60) as http:
        clients = [
            asyncio.create_task(one_key(http, headers, payload, key, i * window / len(keys), stop))
            for i, key in enumerate(keys)
        ]
        last_restart = await killer(children, moments, stop)
        answers = await asyncio.gather(*clients)
    report.answered = {a: answers.count(a) for a in sorted(set(answers))}
    report.recovery_seconds = await recovered(settings, last_restart)
    report.outcome = await count_outcomes(settings, PROVIDER)
    return report


async def recovered(settings: Settings, since: float, timeout: float = 180.0) -> float:
    while await open_intents(settings):
        if time.monotonic() - since > timeout:
            break
        await asyncio.sleep(0.2)
    return time.monotonic() - since


def postgres_url() -> str | None:
    url = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    return url or None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=100)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--window", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lease", type=float, default=30.0, help="INTENT_LEASE_SECONDS")
    parser.add_argument("--check", type=float, default=10.0, help="INTENT_CHECK_SECONDS")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    options = dict(
        creates=args.creates,
        kills=args.kills,
        latency_ms=args.latency_ms,
        window=args.window,
        seed=args.seed,
        lease=args.lease,
        check=args.check,
    )
    if not args.postgres_only:
        with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
            report = await run(sqlite_url(Path(tmp)), Path(tmp), label="SQLite", **options)
            print("\n".join(report.lines()))
    base = postgres_url()
    if args.sqlite_only or not base:
        return
    try:
        url = await create_postgres_database(base)
    except OSError as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    try:
        with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
            report = await run(url, Path(tmp), label="PostgreSQL", **options)
            print("\n".join(report.lines()))
    finally:
        await drop_postgres_database(url)
    print(f"load average {os.getloadavg()[0]:.2f} after the runs")


if __name__ == "__main__":
    asyncio.run(main())
