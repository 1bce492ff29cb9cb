"""SIGTERM with requests in flight: they finish, new connections are refused, the
``last_used_at`` batch is written before the process exits.

The requests are held in flight by their bodies: the test sends the headers and half the
body, sends SIGTERM, waits until the server stops accepting connections, and only then
sends the rest. A request whose head the server has read is in flight for uvicorn.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.integrations.models import Integration
from app.tokens.models import AccessToken
from devkit.server import ROOT, free_port
from tests.fixtures.api import create_integration, issue_token, state
from tests.hardening.helpers import server_env

pytestmark = pytest.mark.process


@contextmanager
def serving(database_url: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    # Uses are written only at shutdown unless the 5 s background flush comes first.
    env = server_env(database_url, LAST_USED_FLUSH_SECONDS="3600")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the server exited at start-up"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


class HeldRequest:
    """A request sent up to the middle of its body; ``finish`` sends the rest."""

    def __init__(self, port: int, method: str, path: str, body: bytes, **headers: str) -> None:
        self.body = body
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        head = f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
        self.sock.sendall(head.encode() + b"\r\n" + body[: len(body) // 2])

    def finish(self) -> tuple[int, Any]:
        self.sock.sendall(self.body[len(self.body) // 2 :])
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        raw = response.read()
        self.sock.close()
        return response.status, json.loads(raw) if raw else None


def wait_until_refused(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.02)
    raise AssertionError("the server still accepts connections after SIGTERM")


async def test_sigterm_lets_in_flight_requests_finish_and_flushes_last_used(
    app: FastAPI,
    client: httpx.AsyncClient,
    database_url: str,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> None:
    integration = await create_integration(client, admin_headers)
    issued = await issue_token(client, admin_headers, integration["id"])
    form = f"token={issued['secret']}".encode()
    patch = json.dumps({"description": "changed while shutting down"}).encode()

    with serving(database_url) as (process, port):
        # An introspection before the signal: its use waits in memory for a flush.
        early = HeldRequest(port, "POST", "/oauth2/introspect", form, **_form(gateway_headers))
        assert early.finish()[1]["active"] is True
        in_flight = [
            HeldRequest(
                port,
                "PATCH",
                f"/api/v1/integrations/{integration['id']}",
                patch,
                **{**admin_headers, "Content-Type": "application/json"},
            ),
            HeldRequest(port, "POST", "/oauth2/introspect", form, **_form(gateway_headers)),
        ]
        time.sleep(0.5)  # let the server read their heads (not asserted on)
        process.send_signal(signal.SIGTERM)
        wait_until_refused(port)  # new connections: refused
        assert process.poll() is None, "exited with requests in flight"

        patched_status, patched = in_flight[0].finish()
        introspected_status, introspected = in_flight[1].finish()
        assert patched_status == 200, patched
        assert patched["description"] == "changed while shutting down"
        assert introspected_status == 200
        assert introspected["active"] is True
        # uvicorn shuts down, then re-raises the signal it caught: -SIGTERM, not a crash.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)

    async with state(app).sessionmaker() as session:
        token = await session.get(AccessToken, uuid.UUID(issued["token"]["id"]))
        stored = await session.execute(
            select(Integration.description).where(Integration.id == uuid.UUID(integration["id"]))
        )
    assert stored.scalar_one() == "changed while shutting down"
    assert token is not None
    assert token.last_used_at is not None, "the last_used batch was lost"


def _form(gateway: dict[str, str]) -> dict[str, str]:
    return {**gateway, "Content-Type": "application/x-www-form-urlencoded"}
