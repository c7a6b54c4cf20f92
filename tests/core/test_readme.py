"""The README and Makefile say what they do: tables render, the first install shows progress."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cells(row: str) -> int:
    # A pipe escaped as \\| (also inside `code`) stays in its cell in GitHub's tables.
    return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))


def test_every_readme_table_row_has_its_headers_cell_count():
    lines = (ROOT / "README.md").read_text().splitlines()
    bad = []
    header = None
    for number, line in enumerate(lines, 1):
        if not line.startswith("|"):
            header = None
            continue
        if header is None:
            header = cells(line)
        elif cells(line) != header:
            bad.append(f"README.md:{number}: {cells(line)} cells, header has {header}")
    assert bad == []


def test_the_first_install_shows_progress_and_says_what_it_costs():
    makefile = (ROOT / "Makefile").read_text()
    install = next(line for line in makefile.splitlines() if "-e '.[dev]'" in line)
    assert "--quiet" not in install
    assert "first run" in makefile
    assert "first run" in (ROOT / "README.md").read_text()
