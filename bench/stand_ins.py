"""How fast the Xero stand-in answers: requests per second for an invoice GET and an invoice
create (PUT /Invoices), at a few concurrency levels, measured in one run.

Run: .venv/bin/python bench/stand_ins.py [--requests 400] [--levels 1,4,16]

The sandbox runs in-process on a free port (uvicorn in a thread, real sockets, SQLite file
store), demo-seeded. Xero's per-tenant limits (60/min, 5 concurrent) would cap any measurement
at Xero's own pace, so they are lifted for the run: this measures the stand-in, not the limits.
No thresholds are asserted; the numbers are for later benchmarks to compare against.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from _support import REDIRECT, XERO_CLIENT, free_port, sandbox_settings, start_in_thread

from sandbox.app import create_sandbox_app

TENANT = "b1f3c0de-0000-4000-8000-000000000001"
API = "/xero/api/api.xro/2.0"


async def connect(http: httpx2.AsyncClient) -> dict[str, str]:
    await http.post("/_sandbox/xero/auto-approve", json={"email": "nora@northwind.test"})
    answer = await http.get(
        "/xero/login/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": XERO_CLIENT.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid offline_access accounting.transactions accounting.contacts",
            "state": "bench",
        },
    )
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    tokens = (
        await http.post(
            "/xero/identity/connect/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
            auth=(XERO_CLIENT.client_id, XERO_CLIENT.client_secret),
        )
    ).json()
    return {
        "authorization": f"Bearer {tokens['access_token']}",
        "xero-tenant-id": TENANT,
        "accept": "application/json",
    }


async def measure(
    http: httpx2.AsyncClient, total: int, concurrency: int, call: Any
) -> tuple[float, int]:
    """Run `total` calls with `concurrency` workers; (requests per second, failures)."""
    remaining = total
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            response = await call(http)
            if response.status_code >= 300:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - started), failures


async def main(total: int, levels: list[int]) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        settings = sandbox_settings(port, Path(tmp) / "sandbox.db")
        app = create_sandbox_app(settings, reset=True, seed="demo")
        state = app.state.xero
        for window in (state.minute, state.day, state.app_minute):
            window.limit = 10**9
        state.concurrency.limit = 10**6
        server = start_in_thread(app, port)
        try:
            limits = httpx2.Limits(
                max_connections=max(levels), max_keepalive_connections=max(levels)
            )
            async with httpx2.AsyncClient(
                base_url=settings.public_url, timeout=30, limits=limits
            ) as http:
                headers = await connect(http)
                contacts = (await http.get(f"{API}/Contacts", headers=headers)).json()["Contacts"]
                acme = next(c["ContactID"] for c in contacts if c["Name"] == "Acme Ltd")
                body = {
                    "Invoices": [
                        {
                            "Type": "ACCREC",
                            "Contact": {"ContactID": acme},
                            "Date": "2026-03-13",
                            "DueDate": "2026-03-20",
                            "LineItems": [
                                {"ItemCode": "CONS-HR", "Quantity": 10, "DiscountRate": 10},
                                {"ItemCode": "LIC-ANN", "Quantity": 2},
                            ],
                        }
                    ]
                }
                first = await http.put(
                    f"{API}/Invoices?summarizeErrors=false", json=body, headers=headers
                )
                invoice_id = first.json()["Invoices"][0]["InvoiceID"]

                async def get_invoice(client: httpx2.AsyncClient) -> httpx2.Response:
                    return await client.get(f"{API}/Invoices/{invoice_id}", headers=headers)

                async def create_invoice(client: httpx2.AsyncClient) -> httpx2.Response:
                    return await client.put(
                        f"{API}/Invoices?summarizeErrors=false", json=body, headers=headers
                    )

                print(f"Xero stand-in on 127.0.0.1:{port}, {total} requests per cell")
                print(
                    f"{'concurrency':>11} | {'GET invoice req/s':>17} | {'PUT invoice req/s':>17}"
                )
                for level in levels:
                    get_rate, get_fail = await measure(http, total, level, get_invoice)
                    put_rate, put_fail = await measure(http, total, level, create_invoice)
                    note = (
                        f"  (failures: get {get_fail}, put {put_fail})"
                        if get_fail or put_fail
                        else ""
                    )
                    print(f"{level:>11} | {get_rate:>17.0f} | {put_rate:>17.0f}{note}")
        finally:
            server.should_exit = True
            await asyncio.sleep(0.3)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--levels", default="1,4,16")
    args = parser.parse_args()
    asyncio.run(main(args.requests, [int(x) for x in args.levels.split(",")]))
