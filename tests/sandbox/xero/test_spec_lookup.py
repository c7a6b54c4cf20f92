"""One lookup for Xero's OpenAPI files; absent, the contract tests skip, except in CI."""

from __future__ import annotations

import pytest

from tests.support import xero_spec


def test_the_default_is_shared_specs_next_to_the_project(monkeypatch):
    monkeypatch.delenv("XERO_OPENAPI_PATH", raising=False)
    assert xero_spec.spec_path() == (
        xero_spec.ROOT.parent / "shared" / "specs" / "xero" / "xero_accounting.yaml"
    )


def test_the_override_may_name_the_directory_or_the_file(monkeypatch, tmp_path):
    (tmp_path / "xero_accounting.yaml").write_text("openapi: 3.0.0\n")
    monkeypatch.setenv("XERO_OPENAPI_PATH", str(tmp_path))
    assert xero_spec.require_spec() == tmp_path / "xero_accounting.yaml"
    monkeypatch.setenv("XERO_OPENAPI_PATH", str(tmp_path / "xero_accounting.yaml"))
    assert xero_spec.require_spec() == tmp_path / "xero_accounting.yaml"


def test_absent_it_skips_locally_and_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("XERO_OPENAPI_PATH", str(tmp_path / "missing"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="XERO_OPENAPI_PATH"):
        xero_spec.require_spec()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="not found"):
        xero_spec.require_spec()
