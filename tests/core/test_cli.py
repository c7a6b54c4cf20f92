"""The CLI: clear messages instead of tracebacks, and key rotation."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from sqlalchemy import String, select, type_coerce

from app.cli import rotate_keys
from app.crm.pipedrive.models import PipedriveInstallation
from app.kit.crypto import keyring


def _run(*args, env=None):
    full_env = {**os.environ, "APP_ENV": "test", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def test_unknown_database_scheme_is_one_clear_line():
    result = _run("migrate", env={"DATABASE_URL": "mysql://root@localhost/db"})
    assert result.returncode == 2
    assert "DATABASE_URL scheme 'mysql' is not supported" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_clear_line():
    result = _run("migrate", env={"DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none"})
    assert result.returncode == 1
    assert "database unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_sandbox_missing_from_the_image_is_one_clear_line(tmp_path):
    # The production image deletes the top-level sandbox package; a stub that hides it stands in.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['sandbox'] = None\n")
    env = {"PYTHONPATH": f"{hide}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for command in ("sandbox", "demo"):
        result = _run(command, env={**env, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
        assert result.returncode == 2, result.stderr
        assert "the sandbox" in result.stderr
        assert "is not installed in this image" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_corrupt_token_keys_is_one_clear_line(tmp_path):
    result = _run(
        "migrate",
        env={"TOKEN_KEYS": "garbage", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"},
    )
    assert result.returncode == 2
    assert "TOKEN_KEYS entry 1 is not a valid Fernet key" in result.stderr
    assert not (tmp_path / "x.db").exists()


async def test_rotate_keys_reencrypts_with_the_new_first_key(settings, make_user, sessionmaker):
    user = await make_user()
    async with sessionmaker() as session:
        session.add(
            PipedriveInstallation(
                company_id=user.company_id,
                user_id=user.id,
                access_token="access-secret",
                refresh_token="refresh-secret",
                expires_at=datetime.now(UTC),
                api_domain="https://x.pipedrive.com",
            )
        )
        await session.commit()
    old_key = settings.token_key_list[0]
    new_key = Fernet.generate_key().decode()
    rotated = settings.model_copy(update={"token_keys": f"{new_key},{old_key}"})
    try:
        counts = await rotate_keys(rotated)
        assert counts["pipedrive_installation.access_token"] == 1
        async with sessionmaker() as session:
            raw = (
                await session.execute(
                    select(type_coerce(PipedriveInstallation.access_token, String))
                )
            ).scalar_one()
        assert Fernet(new_key.encode()).decrypt(raw.encode()) == b"access-secret"
        # The old key can now be dropped: the new key alone reads every row.
        keyring.configure([new_key])
        async with sessionmaker() as session:
            row = (await session.execute(select(PipedriveInstallation))).scalar_one()
        assert row.refresh_token == "refresh-secret"
    finally:
        keyring.configure(settings.token_key_list)
