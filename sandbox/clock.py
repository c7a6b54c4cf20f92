"""The stand-ins' clock: real time plus an offset that tests move forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.store import Store


class Clock:
    def __init__(self, store: Store) -> None:
        self._store = store
        saved = store.get("clock", "offset")
        self._offset = float(saved["seconds"]) if saved else 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def timestamp(self) -> float:
        return self.now().timestamp()

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> datetime:
        """Move time forward (never backward: tokens and windows only make sense forward)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        self._store.put("clock", "offset", {"seconds": self._offset})
        return self.now()

    def reset(self) -> None:
        self._offset = 0.0
        self._store.put("clock", "offset", {"seconds": 0.0})
