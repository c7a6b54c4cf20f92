"""Our app in processes of its own for a benchmark, and the CPU time those processes use.

CPU time is read from /proc (user + system, every thread, the process and its descendants:
`invoicing serve --workers 2` is a supervisor and two worker processes), so the numbers are
our app's own work whatever else runs on the machine; wall time on a shared machine is not.
With ``profile`` set, the single app process runs under cProfile and writes its statistics
there when it is terminated (``summarize`` reads them).
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def load_line() -> str:
    """The machine's load average beside its core count: above the cores, others were busy."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    # After the name: state ppid ... utime (14th field of the line) stime (15th).
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by ``root`` and its live descendants."""
    table: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                table[int(entry)] = found
    members, total, grew = {root}, 0.0, True
    while grew:
        grew = False
        for pid, (parent, _) in table.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    for pid in members:
        total += table.get(pid, (0, 0.0))[1]
    return total


class AppProcess:
    """`invoicing serve` on ``port`` with ``env``; ``workers`` > 1 runs uvicorn's supervisor."""

    def __init__(
        self, port: int, env: dict[str, str], workers: int = 1, profile: Path | None = None
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        serve = ["-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)]
        if profile is not None:
            serve = [__file__, str(profile), *serve[2:]]
        self.command = [sys.executable, *serve]
        self.profiling = profile is not None
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), **env)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def profile(self, on: bool) -> None:
        """Start or stop the profile (only with ``profile`` given)."""
        if self.profiling:
            os.kill(self.pid, signal.SIGUSR1 if on else signal.SIGUSR2)

    def cpu(self) -> float:
        return tree_cpu(self.pid)

    async def start(self, log: Path) -> None:
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log
        )
        deadline = time.monotonic() + 60
        async with httpx2.AsyncClient() as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the app exited at start-up: see {log}")
                try:
                    if (await http.get(f"{self.url}/healthz", timeout=1)).status_code < 500:
                        return
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the app did not answer within 60 s")
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


# Where a function's own time is counted: the first matching piece of its file's path.
GROUPS = (
    ("app/", "app (ours)"),
    ("sandbox/", "sandbox"),
    ("sqlalchemy", "sqlalchemy"),
    ("aiosqlite", "aiosqlite"),
    ("asyncpg", "asyncpg"),
    ("pydantic", "pydantic"),
    ("cryptography", "cryptography (Fernet)"),
    ("structlog", "structlog"),
    ("httpx", "httpx2/httpcore2"),
    ("httpcore", "httpx2/httpcore2"),
    ("h11", "h11"),
    ("jinja2", "jinja2"),
    ("starlette", "starlette/fastapi"),
    ("fastapi", "starlette/fastapi"),
    ("uvicorn", "uvicorn"),
    ("asyncio", "asyncio"),
    ("json", "json"),
    ("logging", "logging"),
)


def summarize(path: Path, top: int = 15) -> list[str]:
    """The profile's own time by library, then its top functions by own and by total time."""
    stats = pstats.Stats(str(path))
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    groups: dict[str, float] = {}
    for (filename, _, _), entry in raw.items():
        name = next((g for piece, g in GROUPS if piece in filename), "other")
        if filename.startswith(str(ROOT / "app")):
            name = "app (ours)"
        groups[name] = groups.get(name, 0.0) + entry[2]
    lines = ["own time by library:"]
    for name, seconds in sorted(groups.items(), key=lambda kv: -kv[1])[:12]:
        lines.append(f"  {100 * seconds / total:5.1f} %  {name}")
    by_own = sorted(raw.items(), key=lambda kv: -kv[1][2])[:top]
    lines.append("top functions by own time:")
    for (filename, line, func), entry in by_own:
        lines.append(f"  {100 * entry[2] / total:5.1f} %  {_short(filename)}:{line} {func}")
    ours = [kv for kv in raw.items() if kv[0][0].startswith(str(ROOT / "app"))]
    lines.append("our functions by total time (includes awaited work; coroutines overlap):")
    for (filename, line, func), entry in sorted(ours, key=lambda kv: -kv[1][3])[:top]:
        lines.append(f"  {100 * entry[3] / total:5.1f} %  {_short(filename)}:{line} {func}")
    return lines


def _short(filename: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def profiled(path: str, argv: list[str]) -> None:
    """`invoicing <argv>` whose CPU time (``time.process_time``, so waits count nothing) is
    profiled between a SIGUSR1 (start) and a SIGUSR2 (stop, statistics written to ``path``):
    start-up and set-up stay out of the profile. uvicorn re-raises the SIGTERM it caught once
    it has shut down; a handler that exits normally keeps that from killing the process
    before it is done."""
    from app.cli import main

    profile = cProfile.Profile(time.process_time)

    def leave(*_: object) -> None:
        raise SystemExit(0)

    def start(*_: object) -> None:
        profile.enable()

    def stop(*_: object) -> None:
        profile.disable()
        profile.dump_stats(path)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    main(argv)


if __name__ == "__main__":
    profiled(sys.argv[1], sys.argv[2:])
