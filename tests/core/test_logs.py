"""Structured logs: JSON lines off a terminal, with the request id, and no token values."""

from __future__ import annotations

import json

import httpx2

from app.logs import configure_logging, log
from app.main import create_app


async def test_json_logs_carry_the_request_id_and_never_tokens(settings, capsys):
    json_settings = settings.model_copy(update={"log_format": "json", "log_level": "INFO"})
    app = create_app(json_settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
                await c.get("/api/v1/me", headers={"X-Request-ID": "req-42"})
        log.info("token_event", access_token="very-secret", refresh_token="also-secret")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    finally:
        # Outside the capture: otherwise later tests' warnings go to capsys's closed stream.
        with capsys.disabled():
            configure_logging(settings)
    request_line = next(line for line in lines if line.get("event") == "request")
    assert request_line["request_id"] == "req-42"
    assert request_line["status"] == 401
    token_line = next(line for line in lines if line.get("event") == "token_event")
    assert token_line["access_token"] == "[redacted]"
    assert "very-secret" not in json.dumps(lines)
