"""The `invoicing` command line: serve, worker, sync, migrate, sandbox, demo, rotate-keys,
pipedrive-manifest, purge-company."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable, Sequence

from app.config import ConfigError, Settings, load_settings


def _fail(message: str, code: int = 2) -> int:
    print(f"invoicing: {message}", file=sys.stderr)
    return code


SANDBOX_MISSING = (
    "the sandbox (the Pipedrive, Xero and QuickBooks stand-ins) is not installed in this image; "
    "`invoicing sandbox` and `invoicing demo` need a development install (`make setup`)"
)


def _sandbox_installed() -> bool:
    """The production image leaves the top-level `sandbox` package out; say so plainly."""
    import importlib.util

    return importlib.util.find_spec("sandbox") is not None


def _describe_db_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"database unreachable ({type(exc).__name__}): {text}"


def migrate(settings: Settings, revision: str = "head") -> None:
    """Upgrade the schema to `revision` (head by default)."""
    from alembic import command

    from app.health import alembic_config

    command.upgrade(alembic_config(settings.database_url), revision)


async def rotate_keys(settings: Settings) -> dict[str, int]:
    """Re-encrypt every encrypted column with the first TOKEN_KEYS key, in one transaction."""
    from sqlalchemy import String, literal, select, type_coerce, update

    from app.db import create_engine
    from app.health import encrypted_columns
    from app.kit.crypto import keyring

    keyring.configure(settings.token_key_list)
    engine = create_engine(settings)
    counts: dict[str, int] = {}
    try:
        async with engine.begin() as conn:
            for table, column in encrypted_columns():
                pk = next(iter(table.primary_key.columns))
                rows = await conn.execute(
                    select(pk, type_coerce(column, String)).where(column.is_not(None))
                )
                done = 0
                for key, cipher in rows.all():
                    await conn.execute(
                        update(table)
                        .where(pk == key)
                        .values({column.name: literal(keyring.rotate(cipher), String())})
                    )
                    done += 1
                counts[f"{table.name}.{column.name}"] = done
    finally:
        await engine.dispose()
    return counts


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips="*",
        log_level="warning",
        access_log=False,
    )
    return 0


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from app.wiring import register_jobs
    from app.worker.process import run_worker

    register_jobs(settings)
    for module in filter(None, (m.strip() for m in args.imports.split(","))):
        importlib.import_module(module)
    if args.scheduler and not settings.redis_url:
        return _fail("--scheduler needs REDIS_URL: without it every process runs its own jobs")
    mode = "Redis" if settings.redis_url else "in-process (no REDIS_URL)"
    role = "dispatching and scheduling only" if args.scheduler else "running jobs"
    print(f"worker: {role}, {mode}; stop with Ctrl-C or SIGTERM")
    asyncio.run(run_worker(settings, run_jobs=not args.scheduler, schedule=not args.no_schedule))
    return 0


def _cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from app.invoices.sync_command import sync_forever, sync_once

    if args.once:
        lines = asyncio.run(sync_once(settings, args.company))
        for line in lines:
            print(line)
        if not lines:
            print("sync: no active connection to catch up")
        return 0
    every = max(60.0, settings.catch_up_minutes * 60)
    print(f"sync: catching up every {every / 60:.0f} min; stop with Ctrl-C")
    asyncio.run(sync_forever(settings, args.company, every))
    return 0


def _cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings, args.revision)
    print(f"database at {args.revision}: {settings.database_backend}")
    return 0


def _cmd_rotate_keys(args: argparse.Namespace, settings: Settings) -> int:
    counts = asyncio.run(rotate_keys(settings))
    total = sum(counts.values())
    for name, count in counts.items():
        print(f"{name}: {count} re-encrypted")
    print(f"{total} values now encrypted with the first key of TOKEN_KEYS")
    return 0


def _cmd_pipedrive_manifest(args: argparse.Namespace, settings: Settings) -> int:
    from app.crm.pipedrive.manifest import manifest_json, manifest_text

    render = manifest_json if args.json else manifest_text
    print(render(settings, show_secret=args.show_secret))
    return 0


def _cmd_purge_company(args: argparse.Namespace, settings: Settings) -> int:
    from app.errors import NotFound
    from app.offboard import offboard_company

    try:
        done = asyncio.run(offboard_company(settings, args.company))
    except NotFound as exc:
        return _fail(exc.message)
    print(f"{done.company_name}: {sum(done.deleted.values())} rows deleted")
    print(f"Pipedrive tokens revoked: {done.pipedrive_tokens_revoked}")
    for failure in done.pipedrive_revoke_failures:
        print(f"not revoked at Pipedrive: {failure}", file=sys.stderr)
    return 1 if done.pipedrive_revoke_failures else 0


def _cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    if not _sandbox_installed():
        return _fail(SANDBOX_MISSING)
    import uvicorn

    from sandbox.app import create_sandbox_app
    from sandbox.config import SandboxSettings

    public = args.public_url or f"http://{args.host}:{args.port}"
    config = SandboxSettings.from_app(settings, public_url=public, db_path=args.db)
    if args.no_webhooks:
        config.xero_webhook_url = config.quickbooks_webhook_url = config.pipedrive_webhook_url = ""
    app = create_sandbox_app(config, reset=args.reset, seed=args.seed)
    # Subscriptions apps register (Pipedrive's) carry their own URLs: stop the sender itself.
    app.state.sandbox.webhooks.enabled = not args.no_webhooks
    print(
        f"sandbox: Pipedrive, Xero and QuickBooks stand-ins on {public}, state in {config.db_path}"
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate, then serve the app and the seeded stand-ins together in one process."""
    if not _sandbox_installed():
        return _fail(SANDBOX_MISSING)
    from urllib.parse import urlsplit

    import uvicorn

    from app.main import create_app
    from sandbox.app import create_sandbox_app
    from sandbox.config import SandboxSettings

    sandbox_url = settings.sandbox_url or f"http://127.0.0.1:{args.sandbox_port}"
    if not settings.sandbox_url:
        # Rebuild so that every provider URL left at its default points at the stand-ins.
        settings = load_settings(sandbox_url=sandbox_url)
    migrate(settings)
    config = SandboxSettings.from_app(settings, public_url=sandbox_url)
    sandbox_app = create_sandbox_app(config)
    sandbox = sandbox_app.state.sandbox
    if sandbox.store.is_empty():
        sandbox.seed("demo")
    app = create_app(settings)
    port = urlsplit(settings.public_url).port or 80
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=args.host, port=port, log_level="warning")),
        uvicorn.Server(
            uvicorn.Config(
                sandbox_app, host="127.0.0.1", port=args.sandbox_port, log_level="warning"
            )
        ),
    ]
    print("")
    print("  CRM Invoicing demo (SQLite, sandbox stand-ins, seeded data)")
    print(f"  Open {settings.public_url}/  (start here: the steps are on the page)")
    print(f"  Install into the sandbox Pipedrive: {settings.public_url}/pipedrive/install")
    print(f"  Sandbox control API: {sandbox_url}/_sandbox/docs")
    print(f"  State: {settings.database_url} and {config.db_path}")
    print("  Stop with Ctrl-C; data is kept for the next `make demo`.")
    print("")

    async def _serve_both() -> None:
        await asyncio.gather(*(server.serve() for server in servers))

    asyncio.run(_serve_both())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invoicing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web service (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=_cmd_serve)

    worker = sub.add_parser("worker", help="run background jobs (several with REDIS_URL)")
    worker.add_argument(
        "--scheduler", action="store_true", help="with Redis: dispatch and schedule, run nothing"
    )
    worker.add_argument(
        "--no-schedule", action="store_true", help="leave periodic jobs to other processes"
    )
    worker.add_argument(
        "--imports", default="", help="comma-separated modules that register more jobs"
    )
    worker.set_defaults(func=_cmd_worker)

    sync = sub.add_parser("sync", help="catch up invoice statuses from the providers")
    sync.add_argument("--company", default=None, help="only this company (our id)")
    sync.add_argument("--once", action="store_true", help="one pass, then exit")
    sync.set_defaults(func=_cmd_sync)

    mig = sub.add_parser("migrate", help="upgrade the database schema to the newest revision")
    mig.add_argument("revision", nargs="?", default="head")
    mig.set_defaults(func=_cmd_migrate)

    sb = sub.add_parser("sandbox", help="run the local Pipedrive, Xero and QuickBooks stand-ins")
    sb.add_argument("--host", default="127.0.0.1")
    sb.add_argument("--port", type=int, default=8100)
    sb.add_argument("--db", default=None, help="state file (default var/sandbox.db)")
    sb.add_argument("--public-url", default=None, help="the URL clients use to reach it")
    sb.add_argument("--reset", action="store_true", help="start from empty state")
    sb.add_argument("--seed", choices=["demo"], default=None, help="load a data set at start")
    sb.add_argument(
        "--no-webhooks", action="store_true", help="record webhook events but send none"
    )
    sb.set_defaults(func=_cmd_sandbox)

    demo = sub.add_parser("demo", help="migrate, then run the app with seeded stand-ins")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--sandbox-port", type=int, default=8100)
    demo.set_defaults(func=_cmd_demo)

    rot = sub.add_parser(
        "rotate-keys", help="re-encrypt stored tokens with the first TOKEN_KEYS key"
    )
    rot.set_defaults(func=_cmd_rotate_keys)

    man = sub.add_parser(
        "pipedrive-manifest", help="what to register in Pipedrive's Developer Hub (extensions)"
    )
    man.add_argument("--json", action="store_true", help="as JSON")
    man.add_argument("--show-secret", action="store_true", help="print the JWT secret itself")
    man.set_defaults(func=_cmd_pipedrive_manifest)
    purge = sub.add_parser(
        "purge-company",
        help="vendor-side uninstall: delete a company's data, revoke its provider and "
        "Pipedrive tokens",
    )
    purge.add_argument("company", help="our company id, its Pipedrive company id or domain")
    purge.set_defaults(func=_cmd_purge_company)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace, Settings], int] = args.func
    try:
        settings = load_settings()
        for notice in settings.notices:
            print(f"invoicing: {notice}", file=sys.stderr)
        return func(args, settings)
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from app.kit.crypto import TokenKeyError

        if isinstance(exc, TokenKeyError):
            return _fail(exc.message)
        if _is_db_error(exc):
            return _fail(_describe_db_error(exc), 1)
        raise


def _is_db_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError, OperationalError

    return isinstance(exc, OSError | OperationalError | DBAPIError) or (
        type(exc).__module__.startswith("asyncpg")
    )


if __name__ == "__main__":
    sys.exit(main())
