"""The sandbox stands apart from the product: of app/ it imports only config, logs and kit, and
the product imports the sandbox only where the CLI starts it (so the image can leave it out)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_FROM_APP = ("app.config", "app.logs", "app.kit")


def _imports(package: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((str(path.relative_to(ROOT)), node.module))
    return found


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_sandbox_imports_only_config_logs_and_kit_of_app():
    found = _imports("sandbox")
    assert any(_within(module, "app.config") for _, module in found)  # the walk sees imports
    foreign = [
        (path, module)
        for path, module in found
        if _within(module, "app") and not any(_within(module, a) for a in ALLOWED_FROM_APP)
    ]
    assert foreign == []


def test_only_the_cli_imports_the_sandbox():
    users = {path for path, module in _imports("app") if _within(module, "sandbox")}
    assert users == {"app/cli.py"}
