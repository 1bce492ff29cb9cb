"""Request ids, access lines without secrets, and exception logs without messages."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.logs import ConsoleFormatter, JsonFormatter
from devkit.server import HttpClient, run_cli, uvicorn_server


async def test_a_request_id_is_made_and_returned(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/auth/me")
    assert len(response.headers["x-request-id"]) == 32


async def test_an_incoming_request_id_is_honoured(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "gateway-abc.123"})
    assert response.headers["x-request-id"] == "gateway-abc.123"


@pytest.mark.parametrize("bad", ["has space", "x" * 200, "semi;colon"])
async def test_a_malformed_request_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": bad})
    assert response.headers["x-request-id"] != bad


async def test_access_lines_carry_neither_query_strings_nor_credentials(
    client: httpx.AsyncClient, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.get("/api/v1/integrations?q=query-value-xyz", headers=admin_headers)
    access = [r for r in caplog.records if r.name == "app.access"]
    assert access
    assert access[-1].path == "/api/v1/integrations"  # type: ignore[attr-defined]
    assert access[-1].request_id  # type: ignore[attr-defined]
    access_text = "\n".join(f"{r.getMessage()} {vars(r)}" for r in access)
    assert "query-value-xyz" not in access_text
    assert admin_headers["Authorization"].split()[1] not in caplog.text


def _record_with_exception(message: str) -> logging.LogRecord:
    try:
        raise RuntimeError(message)
    except RuntimeError:
        return logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())


@pytest.mark.parametrize("formatter", [JsonFormatter(), ConsoleFormatter()])
def test_exception_logs_keep_the_class_and_drop_the_message(formatter: logging.Formatter) -> None:
    text = formatter.format(_record_with_exception("ssg_secret-in-a-driver-message"))
    assert "RuntimeError" in text
    assert "ssg_secret-in-a-driver-message" not in text


@pytest.mark.process
def test_served_logs_are_json_lines_with_request_ids(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'logs.db'}",
        "LOG_FORMAT": "json",
    }

    run_cli(env, "migrate")
    with uvicorn_server(env) as server:
        http = HttpClient(server.port)
        http.request(
            "GET", "/api/v1/integrations?q=hidden-query", headers={"X-Request-ID": "rid-1"}
        )
        http.close()
        deadline = time.monotonic() + 10  # the access line is written after the response
        while '"rid-1"' not in server.log_path.read_text():
            assert time.monotonic() < deadline, server.log_path.read_text()
            time.sleep(0.05)
        lines = [line for line in server.log_path.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON
    access = [e for e in entries if e["logger"] == "app.access"]
    assert any(e["request_id"] == "rid-1" and e["path"] == "/api/v1/integrations" for e in access)
    assert "hidden-query" not in "".join(lines)
