"""Where Xero's official OpenAPI files are: one lookup for every contract test.

``../shared/specs/xero/`` from the project root, or XERO_OPENAPI_PATH (the directory, or its
``xero_accounting.yaml``). Absent: the contract tests skip with the reason, except in CI
(``CI`` set to 1/true/yes), where they fail: a CI run must not pass by silently skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = ROOT.parent / "shared" / "specs" / "xero"
ACCOUNTING_FILE = "xero_accounting.yaml"


def spec_path() -> Path:
    """The accounting spec's path (it may not exist; see ``require_spec``)."""
    override = os.environ.get("XERO_OPENAPI_PATH")
    if override:
        path = Path(override)
        return path / ACCOUNTING_FILE if path.is_dir() else path
    return DEFAULT_DIR / ACCOUNTING_FILE


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_spec() -> Path:
    """The spec's path; skips the test when it is absent (fails it in CI)."""
    path = spec_path()
    if not path.is_file():
        message = (
            f"Xero OpenAPI spec not found at {path}: put it in ../shared/specs/xero/ or set "
            "XERO_OPENAPI_PATH"
        )
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path
