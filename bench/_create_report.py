"""The lines bench/create_invoice.py prints (bench/README.md says what each means)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._create_world import LATENCY_MS


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
        f"{e['standin_cores']:.2f}; one core of the QuickBooks stand-in serves "
        f"{r['standin_rate']:.1f} creates/s (its CPU per create sent to it directly) = "
        f"{r['standin_rate'] / e['rate']:.1f}x (needs >= 5)"
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
