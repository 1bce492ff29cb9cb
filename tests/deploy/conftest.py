"""What every gateway test drives: an echo upstream and the real service, as processes."""

from __future__ import annotations

import json
import os
import ssl
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from devkit.server import HttpClient, free_port, run_cli, uvicorn_server
from tests.test_cli_startup import self_signed_certificate

PASSWORD = "gateway-test-password"


class EchoHeaders(BaseHTTPRequestHandler):
    """The upstream: answers with the headers the gateway sent it."""

    def do_GET(self) -> None:
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def _clean_tables() -> None:
    """Keep the tables between tests (conftest's version empties them): the gateway holds
    its module's introspection client, and every test makes integrations of its own."""


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), EchoHeaders)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture(scope="module")
def service(database_url: str) -> Iterator[dict[str, Any]]:
    """The real service (all components) and an admin session."""
    yield from _running_service(database_url)


@pytest.fixture(scope="module")
def service_over_tls(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The same, serving HTTPS with a certificate made for it (``certificate``: its path,
    for the gateway to trust), as a gateway that insists on TLS needs."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    args = ("--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    yield from _running_service(database_url, extra_args=args, certificate=cert)


def _running_service(
    database_url: str, *, extra_args: tuple[str, ...] = (), certificate: Path | None = None
) -> Iterator[dict[str, Any]]:
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "test"}
    username = f"gateway-{uuid.uuid4().hex[:8]}"
    run_cli(env, "create-admin", username, "--password-stdin", stdin=PASSWORD + "\n")
    tls = None if certificate is None else ssl.create_default_context(cafile=str(certificate))
    with uvicorn_server(env, extra_args=extra_args, tls=tls is not None) as server:
        http = HttpClient(server.port, tls=tls)
        status, login = http.form(
            "/api/v1/auth/token", urlencode({"username": username, "password": PASSWORD}), {}
        )
        assert status == 200, login
        yield {
            "port": server.port,
            "http": http,
            "admin": {"Authorization": f"Bearer {login['access_token']}"},
            "certificate": certificate,
        }
        http.close()
