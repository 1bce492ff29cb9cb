"""Several uvicorn workers on PostgreSQL: a change made through one is seen by the other."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.fixtures.database import backend
from tests.fixtures.server import (
    HttpClient,
    connections_to_distinct_workers,
    run_cli,
    uvicorn_server,
)

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(backend() != "postgres", reason="several workers need PostgreSQL"),
]

PASSWORD = "worker-test-password"


@pytest.fixture
def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "ISSUER": "https://w.test",
    }


@pytest.fixture
def two_workers(server_env: dict[str, str]) -> Iterator[tuple[HttpClient, HttpClient]]:
    """Two keep-alive connections, each accepted by a different worker."""
    with uvicorn_server(server_env, workers=2) as server:
        first, second = connections_to_distinct_workers(server, 2)
        yield first, second
        first.close()
        second.close()


def _login(http: HttpClient, username: str) -> dict[str, str]:
    status, body = http.form(
        "/api/v1/auth/token", urlencode({"username": username, "password": PASSWORD}), {}
    )
    assert status == 200, body
    return {"Authorization": f"Bearer {body['access_token']}"}


def _gateway(server_env: dict[str, str]) -> dict[str, str]:
    created = json.loads(run_cli(server_env, "create-introspection-client", "gateway"))
    raw = f"{created['client_id']}:{created['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _introspect(http: HttpClient, gateway: dict[str, str], secret: str) -> bool:
    status, body = http.form("/oauth2/introspect", urlencode({"token": secret}), gateway)
    assert status == 200, body
    return bool(body["active"])


def test_changes_through_one_worker_are_seen_by_the_other(
    server_env: dict[str, str], two_workers: tuple[HttpClient, HttpClient]
) -> None:
    writer, reader = two_workers
    username = f"workers-{uuid.uuid4().hex[:8]}"
    run_cli(server_env, "create-admin", username, "--password-stdin", stdin=PASSWORD + "\n")
    admin = _login(writer, username)
    gateway = _gateway(server_env)

    status, integration = writer.json(
        "POST",
        "/api/v1/integrations",
        {"name": "n8n", "notification_email": "a@example.com"},
        admin,
    )
    assert status == 201
    tokens_url = f"/api/v1/integrations/{integration['id']}/tokens"
    status, issued = writer.json(
        "POST", tokens_url, {"name": "t", "expiration_policy": "never"}, admin
    )
    assert status == 201

    assert _introspect(reader, gateway, issued["secret"]) is True
    status, _ = writer.request(
        "POST", f"{tokens_url}/{issued['token']['id']}/revoke", headers=admin
    )
    assert status == 200
    assert _introspect(reader, gateway, issued["secret"]) is False

    status, second = writer.json(
        "POST", tokens_url, {"name": "u", "expiration_policy": "7d"}, admin
    )
    assert _introspect(reader, gateway, second["secret"]) is True
    status, _ = writer.json(
        "PATCH", f"/api/v1/integrations/{integration['id']}", {"active": False}, admin
    )
    assert status == 200
    assert _introspect(reader, gateway, second["secret"]) is False
