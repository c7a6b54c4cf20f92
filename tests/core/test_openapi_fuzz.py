"""Schemathesis against our own ``/openapi.json``, in process (ASGI): every operation of the
JSON API with a signed-in admin of an installed company with Xero and QuickBooks connected,
and every endpoint of Pipedrive's Invoicing extension with Pipedrive's Basic credentials.

Positive and negative cases alike must never get a 5xx: bad input is a 4xx naming the field,
a provider's refusal a 4xx in plain words. Known ids (demo deals, products, contacts, the
company's links) are mixed into the generated ones so that valid requests reach the flows and
the sandbox stand-ins behind them. ``FUZZ_EXAMPLES`` raises the examples per operation and
mode when hunting; the default keeps the run deterministic and within a few minutes.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python import asgi

from app.main import create_app
from tests.connections.conftest import flow  # noqa: F401 - fixture
from tests.extension.conftest import basic, link_of
from tests.invoices.conftest import Company, northwind  # noqa: F401 - fixture

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
MIN_CASES = 1000
# A burst of cases can use up a provider's minute budget (Xero: 60 calls); our limiter then
# waits for the window in place, which is slow, not a failure: allow a whole window.
CALL_TIMEOUT = 75
EXTENSION = "/pipedrive/invoicing/"
# Ids that exist in the demo world, per path parameter.
KNOWN: dict[str, list[Any]] = {
    "deal_id": [31, 32, 33],
    "product_id": [1, 2, 3, 5],
    "provider": ["xero", "quickbooks"],
    "entity": ["organization", "person"],
}
KNOWN_CRM = {"organization": [11, 12, 13], "person": [21, 22, 23]}
# Run last: they take the company's connections away from every later case.
DESTRUCTIVE = {("DELETE", "/api/v1/connections/{provider}")}


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


@pytest.fixture
def fuzz_app(settings: Any) -> Iterator[FastAPI]:
    """A second app on the same database: Schemathesis runs it (and its lifespan) on its own
    event loop in a thread, which the session's ``app`` must never be moved to."""
    app = create_app(settings)
    try:
        yield app
    finally:
        asgi.shutdown_lifespans()


def ordered(schema: Any) -> list[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda op: (op.method.upper(), op.path) in DESTRUCTIVE)


def with_known_ids(case: Any, pick: Any, links: dict[str, str]) -> None:
    """Swap generated path ids for ones that exist, so the case reaches the flows."""
    params = case.path_parameters or {}
    for name in list(params):
        if name in KNOWN:
            params[name] = pick(KNOWN[name])
    if "crm_id" in params:
        params["crm_id"] = pick(KNOWN_CRM.get(str(params.get("entity")), [11]))
    if "linkId" in params:
        params["linkId"] = links[pick(list(links))]
    case.path_parameters = params


def headers_for(path: str, settings: Any, company: Company) -> dict[str, str]:
    return basic(settings) if path.startswith(EXTENSION) else dict(company.headers)


def fuzz(operation: Any, mode: GenerationMode, call: Any) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, data: Any) -> None:
        call(case, data)

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid (no parameters, no body): the positive cases cover it.
        assert mode == GenerationMode.NEGATIVE


@pytest.mark.timeout(600)
async def test_no_generated_request_gets_a_5xx(
    fuzz_app: FastAPI,
    northwind: Company,  # noqa: F811 - the fixture imported above
    sandbox: Any,
    settings: Any,
    sessionmaker: Any,
) -> None:
    links = {p: await link_of(sessionmaker, northwind, p) for p in ("xero", "quickbooks")}
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    tally = Tally()

    def call(case: Any, data: Any) -> None:
        if data.draw(st.booleans(), label="known ids"):
            with_known_ids(case, lambda values: data.draw(st.sampled_from(values)), links)
        headers = headers_for(case.operation.path, settings, northwind)
        tally.cases += 1
        try:
            response = case.call(headers=headers, timeout=CALL_TIMEOUT)
        except Exception as exc:
            # The in-process transport re-raises what the app did not handle (a 500).
            tally.failures.append(f"raised {exc!r}\n    {case.as_curl_command(headers=headers)}")
            return
        tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.failures.append(
                f"{response.status_code} {case.as_curl_command(headers=headers)}\n"
                f"    {response.text[:400]}"
            )

    for operation in ordered(schema):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, call)
    print(f"schemathesis: {tally.cases} cases, {len(tally.failures)} 5xx, {dict(tally.statuses)}")
    assert not tally.failures, "\n".join(tally.failures)
    assert tally.cases >= MIN_CASES
