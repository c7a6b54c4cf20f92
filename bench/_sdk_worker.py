"""Create invoices through an official SDK, for bench/adapters.py to compare against.

Runs under bench/.venv-sdk/bin/python (xero-python, python-quickbooks and intuit-oauth live
there only), never under the project's .venv, and imports nothing from the project. It reads
one job as JSON on stdin and prints one JSON result on stdout:

    job:    {"provider": "xero" | "quickbooks", "sandbox_url", "access_token", "tenant_id",
             "client_id", "client_secret", "invoices", "concurrency", "key_prefix",
             "deadline_seconds", "invoice": {the workload, see bench/adapters.py}}
    result: {"created", "failed", "wall_seconds", "throttled", "totals": [...], "errors": [...],
             "sdk"}

The SDKs are synchronous, so concurrency is a thread pool sharing one configured client, as
their documentation shows. Each SDK is pointed at the sandbox through its own knobs: xero-python
``AccountingApi(base_url=...)``; python-quickbooks ``QuickBooks.sandbox_api_url_v3``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from importlib.metadata import version
from typing import Any

# A throttled call is tried again (same idempotency key) at most this many times.
MAX_ATTEMPTS = 20


class Throttled(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"throttled, retry after {retry_after} s")
        self.retry_after = retry_after


def xero_creator(job: dict[str, Any]) -> Callable[[int], str]:
    """A function creating invoice ``index`` and returning the total the provider stored."""
    from xero_python.accounting import (
        AccountingApi,
        Contact,
        CurrencyCode,
        Invoice,
        Invoices,
        LineAmountTypes,
        LineItem,
    )
    from xero_python.api_client import ApiClient, Configuration
    from xero_python.api_client.oauth2 import OAuth2Token
    from xero_python.exceptions.http_status_exceptions import RateLimitException

    token = {
        "access_token": job["access_token"],
        "token_type": "Bearer",
        "expires_in": 1800,
        "expires_at": time.time() + 1800,
        "scope": ["accounting.transactions", "accounting.contacts"],
    }
    config = Configuration(
        oauth2_token=OAuth2Token(client_id=job["client_id"], client_secret=job["client_secret"])
    )
    config.connection_pool_maxsize = job["concurrency"]
    client = ApiClient(
        config,
        pool_threads=job["concurrency"],
        oauth2_token_getter=lambda: token,
        oauth2_token_saver=token.update,
    )
    api = AccountingApi(client, base_url=f"{job['sandbox_url']}/xero/api/api.xro/2.0")
    spec = job["invoice"]

    def create(index: int) -> str:
        invoice = Invoice(
            type="ACCREC",
            contact=Contact(contact_id=spec["contact_id"]),
            date=date.fromisoformat(spec["issue_date"]),
            due_date=date.fromisoformat(spec["due_date"]),
            line_amount_types=LineAmountTypes(spec["tax_mode"]),
            currency_code=CurrencyCode(spec["currency"]),
            reference=f"{spec['reference']} {index}",
            status="DRAFT",
            line_items=[
                LineItem(
                    description=line["description"],
                    quantity=float(line["quantity"]),
                    unit_amount=float(line["unit_price"]),
                    item_code=line.get("item_code"),
                    account_code=line.get("account_code"),
                    tax_type=line.get("tax_code"),
                    discount_rate=float(line["discount_rate"])
                    if line.get("discount_rate")
                    else None,
                )
                for line in spec["lines"]
            ],
        )
        try:
            answer = api.create_invoices(
                job["tenant_id"],
                Invoices(invoices=[invoice]),
                summarize_errors=False,
                unitdp=4,
                idempotency_key=f"{job['key_prefix']}-{index}",
            )
        except RateLimitException as exc:
            raise Throttled(float((exc.headers or {}).get("Retry-After", 1))) from exc
        created = answer.invoices[0]
        if created.has_errors or not created.invoice_id:
            messages = [e.message for e in created.validation_errors or []]
            raise RuntimeError(f"Xero refused the invoice: {messages}")
        return f"{Decimal(str(created.total)):.2f}"

    return create


def quickbooks_creator(job: dict[str, Any]) -> Callable[[int], str]:
    import intuitlib.client
    from intuitlib.client import AuthClient
    from quickbooks import QuickBooks
    from quickbooks.exceptions import QuickbooksException
    from quickbooks.objects.base import Ref
    from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
    from quickbooks.objects.invoice import Invoice

    base = job["sandbox_url"]
    # requests-oauthlib refuses plain http unless told otherwise; the stand-in is on 127.0.0.1.
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

    # intuit-oauth downloads Intuit's OpenID discovery document when an AuthClient is built;
    # the stand-in publishes none (and this machine has no internet), so hand it the
    # stand-in's endpoints instead. Only the token endpoint could be used (refresh), and this
    # run never refreshes: the access token is fresh.
    def discovery(environment: str, session: Any = None) -> dict[str, str]:
        return {
            "authorization_endpoint": f"{base}/quickbooks/appcenter/connect/oauth2",
            "token_endpoint": f"{base}/quickbooks/oauth/oauth2/v1/tokens/bearer",
            "revocation_endpoint": f"{base}/quickbooks/developer/v2/oauth2/tokens/revoke",
            "issuer": f"{base}/quickbooks/oauth",
            "jwks_uri": f"{base}/quickbooks/oauth/jwks",
            "userinfo_endpoint": f"{base}/quickbooks/oauth/userinfo",
        }

    intuitlib.client.get_discovery_doc = discovery  # type: ignore[assignment]
    auth = AuthClient(
        client_id=job["client_id"],
        client_secret=job["client_secret"],
        redirect_uri="http://bench.test/callback",
        environment="sandbox",
        access_token=job["access_token"],
        refresh_token=job.get("refresh_token"),
        realm_id=job["tenant_id"],
    )
    client = QuickBooks(
        auth_client=auth,
        refresh_token=job.get("refresh_token"),
        company_id=job["tenant_id"],
        minorversion=75,
    )
    # The library's documented override point for the API host (it reads api_url from it).
    client.sandbox_api_url_v3 = f"{base}/quickbooks/api/v3"
    spec = job["invoice"]

    def ref(value: str) -> Any:
        out = Ref()
        out.value = value
        return out

    def create(index: int) -> str:
        invoice = Invoice()
        invoice.CustomerRef = ref(spec["contact_id"])
        invoice.TxnDate = spec["issue_date"]
        invoice.DueDate = spec["due_date"]
        invoice.CurrencyRef = ref(spec["currency"])
        invoice.GlobalTaxCalculation = {
            "Exclusive": "TaxExcluded",
            "Inclusive": "TaxInclusive",
            "NoTax": "NotApplicable",
        }[spec["tax_mode"]]
        invoice.PrivateNote = f"{spec['reference']} {index}"
        for line in spec["lines"]:
            quantity, price = Decimal(line["quantity"]), Decimal(line["unit_price"])
            detail = SalesItemLineDetail()
            detail.ItemRef = ref(line["item_id"])
            detail.Qty = float(quantity)
            detail.UnitPrice = float(price)
            if spec.get("tax_code"):
                detail.TaxCodeRef = ref(spec["tax_code"])
            item_line = SalesItemLine()
            item_line.Amount = float(quantity * price)
            item_line.Description = line["description"]
            item_line.SalesItemLineDetail = detail
            invoice.Line.append(item_line)
        try:
            saved = invoice.save(qb=client, request_id=f"{job['key_prefix']}-{index}")
        except QuickbooksException as exc:
            # 3001 ThrottleExceeded (quickbooks.md §12); the library keeps no response headers.
            if str(exc.error_code) == "3001":
                raise Throttled(1.0) from exc
            raise RuntimeError(
                f"QuickBooks refused the invoice: {exc.message} {exc.detail}"
            ) from exc
        if not saved.Id:
            raise RuntimeError("QuickBooks answered without an invoice Id")
        return f"{Decimal(str(saved.TotalAmt)):.2f}"

    return create


def run(job: dict[str, Any]) -> dict[str, Any]:
    if job["provider"] == "xero":
        create = xero_creator(job)
        sdk = f"xero-python {version('xero-python')}"
    else:
        create = quickbooks_creator(job)
        sdk = (
            f"python-quickbooks {version('python-quickbooks')}, "
            f"intuit-oauth {version('intuit-oauth')}"
        )
    deadline = time.monotonic() + job["deadline_seconds"]
    lock = threading.Lock()
    tally: dict[str, Any] = {
        "created": 0,
        "failed": 0,
        "throttled": 0,
        "errors": [],
        "totals": set(),
    }

    def one(index: int) -> None:
        for _ in range(MAX_ATTEMPTS):
            try:
                total = create(index)
            except Throttled as exc:
                with lock:
                    tally["throttled"] += 1
                if time.monotonic() + exc.retry_after > deadline:
                    break
                time.sleep(exc.retry_after)
                continue
            except Exception as exc:
                with lock:
                    tally["failed"] += 1
                    if len(tally["errors"]) < 3:
                        tally["errors"].append(f"{type(exc).__name__}: {exc}"[:500])
                return
            with lock:
                tally["created"] += 1
                tally["totals"].add(total)
            return
        with lock:
            tally["failed"] += 1
            if len(tally["errors"]) < 3:
                tally["errors"].append("still throttled when giving up")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=job["concurrency"]) as pool:
        list(pool.map(one, range(job["invoices"])))
    tally["wall_seconds"] = time.perf_counter() - started
    tally["sdk"] = sdk
    tally["totals"] = sorted(tally["totals"])
    return tally


if __name__ == "__main__":
    result = run(json.loads(sys.stdin.read()))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
