"""Checks shared by the extension tests: the envelope and the contract's types."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from app.extension import schemas as pd


def ok(response: Any, model: Any) -> Any:
    """A 2xx ``{success: true, data}`` whose data validates as ``model`` (type or list[type])."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"success", "data"}
    assert body["success"] is True
    return TypeAdapter(model).validate_python(body["data"])


def fails(response: Any, status: int, *words: str) -> str:
    """A non-2xx envelope with a plain error naming ``words``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False and body["data"] is None
    assert isinstance(body["error"], str) and body["error"]
    assert "<" not in body["error"]
    for word in words:
        assert word in body["error"], body["error"]
    return str(body["error"])


def required(data: dict[str, Any], model: type[BaseModel]) -> None:
    """Every field the contract requires is present (not just valid when absent)."""
    for name, field in model.model_fields.items():
        if field.is_required():
            assert name in data, f"{model.__name__}.{name} missing"


def invoice(response: Any) -> pd.Invoice:
    inv = ok(response, pd.Invoice)
    required(response.json()["data"], pd.Invoice)
    for key in ("paidAmount", "dueAmount"):
        assert key in response.json()["data"]
    assert isinstance(response.json()["data"]["total"], int | float)
    assert inv.paidAmount is not None and inv.paidAmount <= inv.total
    return inv


def action_ids(inv: pd.Invoice) -> set[str]:
    return {a.id for a in inv.actions}
