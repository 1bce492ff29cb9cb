"""Several processes on one SQLite file: a revocation is seen by every one of them.

A management ``serve`` and an introspection ``serve`` may share the embedded database
file, and a CLI command may change it while they run. The introspection process once
trusted its cache for up to a minute after a revocation made elsewhere; now it watches the
file (``PRAGMA data_version``) and forgets what it remembered when another process commits.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devkit.server import RunningServer, run_cli, uvicorn_server
from tests.fixtures.database import backend
from tests.hardening.helpers import server_env

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(backend() != "sqlite", reason="the embedded SQLite file is the subject"),
]

PASSWORD = "two-processes-password"


@dataclass
class TwoProcesses:
    database: Path
    management: httpx.Client
    introspection: httpx.Client
    gateway: dict[str, str]

    def introspect(self, secret: str) -> bool:
        response = self.introspection.post(
            "/oauth2/introspect", data={"token": secret}, headers=self.gateway
        )
        assert response.status_code == 200, response.text
        return bool(response.json()["active"])

    def issue(self) -> tuple[str, str, str]:
        """(integration id, token id, secret) of a new token, once introspected (cached)."""
        created = self.management.post(
            "/api/v1/integrations",
            json={"name": f"bot {time.monotonic_ns()}", "notification_email": "ops@example.com"},
        )
        integration_id = created.json()["id"]
        issued = self.management.post(
            f"/api/v1/integrations/{integration_id}/tokens",
            json={"name": "ci", "expiration_policy": "30d"},
        ).json()
        assert self.introspect(issued["secret"]) is True
        return integration_id, issued["token"]["id"], issued["secret"]

    def refuses(self, gateway: dict[str, str], within_seconds: float = 5.0) -> bool:
        deadline = time.monotonic() + within_seconds
        while time.monotonic() < deadline:
            answer = self.introspection.post(
                "/oauth2/introspect", data={"token": "x"}, headers=gateway
            )
            if answer.status_code == 401:
                return True
        return False

    def becomes_inactive(self, secret: str, within_seconds: float = 5.0) -> bool:
        deadline = time.monotonic() + within_seconds
        while time.monotonic() < deadline:
            if not self.introspect(secret):
                return True
        return False


def _client(server: RunningServer, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{server.port}", headers=headers, timeout=10)


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoProcesses]:
    database = tmp_path_factory.mktemp("shared") / "shared.db"
    # A long cache TTL: without the watcher a revocation would go unseen for its length.
    env = server_env(
        f"sqlite+aiosqlite:///{database}", INTROSPECTION_CACHE_TTL_SECONDS="3600"
    )
    run_cli(env, "migrate")
    run_cli(env, "create-admin", "operator", "--password-stdin", stdin=PASSWORD + "\n")
    client = json.loads(run_cli(env, "create-introspection-client", "gateway"))
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode())
    with (
        uvicorn_server(env, component="management") as management,
        uvicorn_server(env, component="introspection") as introspection,
    ):
        login = _client(management).post(
            "/api/v1/auth/token", data={"username": "operator", "password": PASSWORD}
        )
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        with _client(management, admin) as manage, _client(introspection) as introspect:
            yield TwoProcesses(
                database, manage, introspect, {"Authorization": f"Basic {basic.decode()}"}
            )


def test_a_revocation_in_the_management_process_reaches_the_introspection_process(
    processes: TwoProcesses,
) -> None:
    integration_id, token_id, secret = processes.issue()
    revoked = processes.management.post(
        f"/api/v1/integrations/{integration_id}/tokens/{token_id}/revoke"
    )
    assert revoked.status_code == 200
    assert processes.becomes_inactive(secret)


def test_deactivating_in_one_process_reaches_the_other(processes: TwoProcesses) -> None:
    integration_id, _, secret = processes.issue()
    patched = processes.management.patch(
        f"/api/v1/integrations/{integration_id}", json={"active": False}
    )
    assert patched.status_code == 200
    assert processes.becomes_inactive(secret)


def test_a_change_by_another_program_on_the_file_reaches_the_introspection_process(
    processes: TwoProcesses,
) -> None:
    """As a CLI command run while ``serve`` runs would: a plain commit to the file."""
    _, token_id, secret = processes.issue()
    with sqlite3.connect(processes.database) as connection:
        connection.execute(
            "UPDATE access_tokens SET revoked_at = CURRENT_TIMESTAMP, "
            "revocation_reason = 'revoked' WHERE id = ?",
            (token_id.replace("-", ""),),
        )
    assert processes.becomes_inactive(secret)


def test_revoking_gateway_credentials_in_one_process_reaches_the_other(
    processes: TwoProcesses,
) -> None:
    """The introspection process remembers the gateways it verified; a revocation made by
    the management process makes it forget them, while other commits do not."""
    created = processes.management.post("/api/v1/introspection-clients", json={"name": "edge"})
    assert created.status_code == 201, created.text
    client = created.json()
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode())
    edge = {"Authorization": f"Basic {basic.decode()}"}
    _, _, secret = processes.issue()  # commits made after the gateway was verified
    assert processes.introspection.post(
        "/oauth2/introspect", data={"token": secret}, headers=edge
    ).json()["active"] is True

    revoked = processes.management.post(
        f"/api/v1/introspection-clients/{client['client_id']}/revoke"
    )
    assert revoked.status_code == 200, revoked.text
    assert processes.refuses(edge)
    assert processes.introspect(secret) is True  # the other gateway is still known
