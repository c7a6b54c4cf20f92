"""A second process for the cross-process refresh test.

Reads its settings from the environment (the same database, keys and sandbox as the test),
prints ``ready``, waits for ``go`` on stdin, then makes N concurrent provider calls through its
own TokenService and prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx2

from app.config import load_settings
from app.connections.tokens import TokenService
from app.db import create_engine, create_sessionmaker
from app.kit.crypto import keyring


async def main(company_id: str, provider: str, calls: int) -> None:
    settings = load_settings()
    keyring.configure(settings.token_key_list)
    engine = create_engine(settings)
    async with httpx2.AsyncClient(timeout=30) as http:
        tokens = TokenService(settings, create_sessionmaker(engine), http)
        facade = tokens.facade(provider)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        results = await asyncio.gather(
            *(tokens.call(company_id, provider, facade.organisation) for _ in range(calls)),
            return_exceptions=True,
        )
    await engine.dispose()
    print(
        json.dumps(
            {
                "ok": sum(1 for r in results if not isinstance(r, BaseException)),
                "errors": [repr(r) for r in results if isinstance(r, BaseException)],
                "names": sorted({r.name for r in results if not isinstance(r, BaseException)}),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
