"""Start-up code shared by the benchmarks: free ports and the sandbox stand-ins, served either
in a thread of the benchmark's own process or in a process of their own.

Run as a script it is that process: ``python bench/_support.py --port N --db PATH`` serves the
reset, demo-seeded stand-ins with the benchmark OAuth clients below until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2
import uvicorn

from app.config import Settings
from sandbox.app import create_sandbox_app
from sandbox.config import SandboxSettings
from sandbox.oauth import Client

ROOT = Path(__file__).resolve().parent.parent

# The OAuth clients the stand-ins register for benchmark runs (sandbox-only credentials).
REDIRECT = "http://bench.test/callback"
XERO_CLIENT = Client("bench-xero", "bench-xero-secret", (REDIRECT,))
QBO_CLIENT = Client("bench-qbo", "bench-qbo-secret", (REDIRECT,))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_env(s: Settings) -> dict[str, str]:
    """The environment that makes a child process (`invoicing serve`, `invoicing sandbox`)
    this app, or the stand-ins registering exactly this app: its URLs, keys and clients."""
    return {
        "APP_ENV": "test",
        "PUBLIC_URL": s.public_url,
        "SANDBOX_URL": s.sandbox_url or "",
        "VAR_DIR": str(s.var_dir),
        "SECRET_KEY": s.secret_key,
        "TOKEN_KEYS": s.token_keys,
        "PIPEDRIVE_CLIENT_ID": s.pipedrive.client_id,
        "PIPEDRIVE_CLIENT_SECRET": s.pipedrive.client_secret,
        "XERO_CLIENT_ID": s.xero.client_id,
        "XERO_CLIENT_SECRET": s.xero.client_secret,
        "XERO_WEBHOOK_KEY": s.xero.webhook_key,
        "QUICKBOOKS_CLIENT_ID": s.quickbooks.client_id,
        "QUICKBOOKS_CLIENT_SECRET": s.quickbooks.client_secret,
        "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN": s.quickbooks.webhook_verifier_token,
        "LOG_LEVEL": "ERROR",
    }


def sandbox_settings(port: int, db_path: str | Path) -> SandboxSettings:
    return SandboxSettings(
        public_url=f"http://127.0.0.1:{port}",
        db_path=str(db_path),
        xero_client=XERO_CLIENT,
        quickbooks_client=QBO_CLIENT,
    )


def start_in_thread(app: Any, port: int) -> uvicorn.Server:
    """Serve ``app`` on 127.0.0.1:port from a daemon thread; set ``should_exit`` to stop."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("sandbox did not start")
        time.sleep(0.02)
    return server


class SandboxProcess:
    """The stand-ins (reset, demo-seeded) in a child process on a free port.

    A process of their own keeps the server's CPU work off the client being measured, so that
    a client running in this process and one running in another process meet the same server.
    """

    def __init__(
        self,
        db_path: str | Path,
        startup_timeout: float = 30.0,
        *,
        port: int | None = None,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """By default the stand-ins register the benchmark OAuth clients above; ``command``
        and ``env`` start them some other way (e.g. `invoicing sandbox` for one app)."""
        self.db_path = str(db_path)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout = startup_timeout
        self.command = command or [
            sys.executable, __file__, "--port", str(self.port), "--db", self.db_path,
        ]  # fmt: skip
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SandboxProcess:
        env = dict(os.environ, PYTHONPATH=str(ROOT), **(self.env or {}))
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"sandbox exited at start-up (code {self.process.returncode})")
            try:
                if httpx2.get(f"{self.url}/_sandbox/clock", timeout=1).status_code == 200:
                    return self
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"sandbox did not answer within {self.startup_timeout:.0f} s")
            time.sleep(0.1)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the seeded sandbox for a benchmark.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    app = create_sandbox_app(sandbox_settings(args.port, args.db), reset=True, seed="demo")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
