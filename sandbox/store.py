"""The stand-ins' state: JSON documents in one SQLite file (or memory), keyed by kind and key.

Synchronous sqlite3 under a lock: every call is a few microseconds on this scale, and keeping
it synchronous makes read-modify-write sequences atomic inside one event-loop step.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS doc (
  kind TEXT NOT NULL, key TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS doc_scope ON doc (kind, scope, seq);
-- put() takes MAX(seq) + 1: without this index every write scans the whole table.
CREATE INDEX IF NOT EXISTS doc_seq ON doc (seq);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    """A tiny document store. ``scope`` partitions a kind (a tenant, realm or company)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # A stand-in trades durability for speed: a crash may lose the last writes.
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.executescript(SCHEMA)
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Group writes atomically (nestable)."""
        with self._lock:
            if self._depth == 0:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("COMMIT")

    def reset(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM doc")
            self._conn.execute("DELETE FROM counter")

    def next_seq(self, name: str) -> int:
        with self._lock:
            row = self._conn.execute(
                "INSERT INTO counter(name, value) VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
                (name,),
            ).fetchone()
            return int(row[0])

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM doc WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind: str, key: str, data: dict[str, Any], scope: str = "") -> dict[str, Any]:
        """Insert or replace; the original insertion order is kept on replace."""
        payload = json.dumps(data, separators=(",", ":"), default=str)
        with self._lock:
            self._conn.execute(
                "INSERT INTO doc(kind, key, scope, data, seq) VALUES (?, ?, ?, ?, "
                "(SELECT COALESCE(MAX(seq), 0) + 1 FROM doc)) "
                "ON CONFLICT(kind, key) DO UPDATE SET data = excluded.data, scope = excluded.scope",
                (kind, key, scope, payload),
            )
        return data

    def delete(self, kind: str, key: str) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM doc WHERE kind = ? AND key = ?", (kind, key))
        return cur.rowcount > 0

    def all(self, kind: str, scope: str | None = None) -> list[dict[str, Any]]:
        """Every document of a kind (optionally one scope), in insertion order."""
        with self._lock:
            if scope is None:
                rows = self._conn.execute(
                    "SELECT data FROM doc WHERE kind = ? ORDER BY seq", (kind,)
                ).fetchall()
            else:
                rows = self._conn.execute(
                    "SELECT data FROM doc WHERE kind = ? AND scope = ? ORDER BY seq", (kind, scope)
                ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def has(self, kind: str, scope: str, json_path: str, value: Any) -> bool:
        """Whether a document of the kind and scope has ``value`` at ``json_path`` (e.g.
        ``$.DocNumber``), answered by SQLite without decoding every document in Python."""
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM doc WHERE kind = ? AND scope = ? AND json_extract(data, ?) = ? "
                "LIMIT 1",
                (kind, scope, json_path, value),
            ).fetchone()
        return row is not None

    def count(self, kind: str, scope: str | None = None) -> int:
        with self._lock:
            if scope is None:
                row = self._conn.execute("SELECT COUNT(*) FROM doc WHERE kind = ?", (kind,))
            else:
                row = self._conn.execute(
                    "SELECT COUNT(*) FROM doc WHERE kind = ? AND scope = ?", (kind, scope)
                )
            return int(row.fetchone()[0])

    def is_empty(self) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM doc LIMIT 1").fetchone() is None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
