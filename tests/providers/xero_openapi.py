"""Xero's official OpenAPI, loaded once per test session, for request validation.

Where the file is: ``tests.support.xero_spec`` (../shared/specs/xero/ from the project root, or
XERO_OPENAPI_PATH); tests that need it skip with the reason when it is absent, fail in CI.
"""

from __future__ import annotations

import json
import re
import warnings
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import yaml

from tests.support.xero_spec import require_spec, spec_path


def _config() -> Any:
    from openapi_core import Config

    return Config(spec_validator_cls=None)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def unknown_fields(
    spec: dict[str, Any], value: Any, schema: dict[str, Any], where: str = "$"
) -> list[str]:
    """Property names in ``value`` that the schema does not declare (openapi-core accepts them,
    so a misspelt field would otherwise pass unnoticed)."""
    schema = _resolve(spec, schema)
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append(f"{where}.{key}")
            else:
                found += unknown_fields(spec, item, schema["properties"][key], f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += unknown_fields(spec, item, schema["items"], f"{where}[{index}]")
    return found


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Any], Any]:
    from openapi_core import OpenAPI

    path = spec_path()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open() as fh:
        spec: dict[str, Any] = yaml.load(fh, Loader=loader)
    # The official file has a few invalid defaults ('false' for booleans), so the spec itself
    # is not re-validated; requests are still checked against every schema in it.
    return spec, OpenAPI.from_dict(spec, config=_config())


def xero_spec() -> tuple[dict[str, Any], Any]:
    """(spec dict, openapi_core.OpenAPI); skips the test when the file is absent."""
    require_spec()
    return _load()


def validate_xero_request(request: httpx2.Request, api_prefix: str) -> None:
    """Validate a request our adapter sent (to any host) against the official spec.

    ``api_prefix`` is the part of our URL that stands for the spec's server
    ``https://api.xero.com/api.xro/2.0``.
    """
    from openapi_core.testing import MockRequest

    _, openapi = xero_spec()
    url = str(request.url)
    assert url.startswith(api_prefix), url
    path = urlsplit(url[len(api_prefix) :]).path or "/"
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    body = request.content or None
    mock = MockRequest(
        "https://api.xero.com",
        request.method.lower(),
        "/api.xro/2.0" + path,
        args=query,
        data=body,
        headers=dict(request.headers),
        content_type=request.headers.get("Content-Type", "application/json").split(";")[0],
    )
    if body:
        operation = _operation(spec_path_for(path, request.method.lower()), request.method.lower())
        content = (operation.get("requestBody") or {}).get("content") or {}
        media = content.get("application/json") or next(iter(content.values()), {})
        if media.get("schema"):
            extra = unknown_fields(_load()[0], json.loads(body), media["schema"])
            assert not extra, f"fields unknown to the Xero spec: {extra}"
    with warnings.catch_warnings():
        # openapi-core cannot check OAuth2 security schemes and says so on every call.
        warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
        openapi.validate_request(mock)


def spec_path_for(path: str, method: str = "get") -> str:
    """The spec's path template matching a concrete path (e.g. /Invoices/{InvoiceID})."""
    spec, _ = _load()
    if path in spec["paths"]:
        return path
    for template, operations in spec["paths"].items():
        if method not in operations:
            continue
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not a path of the Xero spec")


def _operation(template: str, method: str) -> dict[str, Any]:
    spec, _ = _load()
    operation: dict[str, Any] = spec["paths"][template][method]
    return operation
