"""PUT/POST of one or many entities with `summarizeErrors` (xero.md section 12).

Each element is written or refused on its own: a refused element never half-writes. With
`summarizeErrors=false` the answer is 200 with every element (failed ones flagged); otherwise
any failure answers 400 with the failed elements only, although the valid ones were saved
(the documented gotcha, XeroAPI/xero-ruby#247). The spec declares `default: false`, but the
observed behaviour when the parameter is omitted is the summarized 400, which is what we do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from sandbox.xero.api.common import flag, read_body, respond, validation_error, with_errors

# handler(entity) -> (stored document or echoed entity, error messages)
Handler = Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]]


async def run(request: Request, plural: str, handler: Handler) -> Response:
    entities, problem = await read_body(request, plural)
    if entities is None:
        return validation_error(request, [{"ValidationErrors": [{"Message": problem}]}])
    summarize = flag(request, "summarizeErrors", True)
    results: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for entity in entities:
        doc, errors = handler(entity)
        if errors:
            element = with_errors(entity, errors)
            element["HasErrors"] = True
            element["StatusAttributeString"] = "ERROR"
            failed.append(element)
            results.append(element)
        else:
            results.append(dict(doc, StatusAttributeString="OK"))
    if failed and summarize:
        return validation_error(request, failed)
    return respond(request, plural, results)
