"""A real uvicorn with 2 workers on PostgreSQL: a change made through one worker is seen by
introspection answered by the other, although the other had the token in its cache."""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.integrations.models import Integration
from devkit.server import (
    HttpClient,
    connections_to_distinct_workers,
    run_cli,
    uvicorn_server,
)
from tests.api.test_metrics import sample
from tests.fixtures.api import state
from tests.fixtures.database import backend

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(backend() != "postgres", reason="several workers need PostgreSQL"),
]

PASSWORD = "worker-test-password"
# Long enough that only an invalidation, never expiry, can explain a changed answer.
CACHE_TTL_SECONDS = "600"
VISIBLE_WITHIN_SECONDS = 2.0


@dataclass
class Workers:
    writer: HttpClient
    reader: HttpClient
    admin: dict[str, str]


@pytest.fixture(scope="module")
def workers(database_url: str) -> Iterator[Workers]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "ISSUER": "https://w.test",
        "INTROSPECTION_CACHE_TTL_SECONDS": CACHE_TTL_SECONDS,
    }
    username = f"workers-{uuid.uuid4().hex[:8]}"
    run_cli(env, "create-admin", username, "--password-stdin", stdin=PASSWORD + "\n")
    with uvicorn_server(env, workers=2) as server:
        writer, reader = connections_to_distinct_workers(server, 2)
        status, body = writer.form(
            "/api/v1/auth/token", urlencode({"username": username, "password": PASSWORD}), {}
        )
        assert status == 200, body
        yield Workers(writer, reader, {"Authorization": f"Bearer {body['access_token']}"})
        writer.close()
        reader.close()


@dataclass
class Setup:
    workers: Workers
    gateway: dict[str, str]
    gateway_client_id: str
    integration_id: str
    token: dict[str, Any]

    @property
    def tokens_url(self) -> str:
        return f"/api/v1/integrations/{self.integration_id}/tokens"

    def introspect_on_reader(self) -> tuple[int, Any]:
        fields = urlencode({"token": self.token["secret"]})
        return self.workers.reader.form("/oauth2/introspect", fields, self.gateway)


@pytest.fixture
def setup(workers: Workers) -> Setup:
    writer, admin = workers.writer, workers.admin
    status, client = writer.json("POST", "/api/v1/introspection-clients", {"name": "gw"}, admin)
    assert status == 201, client
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    gateway = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    status, integration = writer.json(
        "POST",
        "/api/v1/integrations",
        {"name": "n8n", "notification_email": "a@example.com"},
        admin,
    )
    assert status == 201, integration
    status, token = writer.json(
        "POST",
        f"/api/v1/integrations/{integration['id']}/tokens",
        {"name": "t", "expiration_policy": "never"},
        admin,
    )
    assert status == 201, token
    return Setup(workers, gateway, client["client_id"], integration["id"], token)


async def prove_reader_answers_from_cache(app: FastAPI, setup: Setup) -> None:
    """Rename the integration behind the service's back: a cached answer keeps the old name."""
    status, before = setup.introspect_on_reader()
    assert status == 200
    assert before["active"] is True
    async with state(app).engine.begin() as connection:
        await connection.execute(
            update(Integration)
            .where(Integration.id == uuid.UUID(setup.integration_id))
            .values(name="renamed silently")
        )
    status, after = setup.introspect_on_reader()
    assert after["integration_name"] == before["integration_name"], "reader did not use its cache"


def wait_for(answer: Callable[[], tuple[int, Any]], expected: tuple[int, Any]) -> None:
    deadline = time.monotonic() + VISIBLE_WITHIN_SECONDS
    while (got := answer()) != expected:
        assert time.monotonic() < deadline, f"still {got} instead of {expected}"
        time.sleep(0.01)


def revoke(s: Setup) -> None:
    status, _ = s.workers.writer.request(
        "POST", f"{s.tokens_url}/{s.token['token']['id']}/revoke", headers=s.workers.admin
    )
    assert status == 200


def mass_revoke(s: Setup) -> None:
    body = {"token_ids": [s.token["token"]["id"]]}
    assert s.workers.writer.json("POST", f"{s.tokens_url}/revoke", body, s.workers.admin)[0] == 200


def mass_revoke_all(s: Setup) -> None:
    body = {"all": True}
    assert s.workers.writer.json("POST", f"{s.tokens_url}/revoke", body, s.workers.admin)[0] == 200


def regenerate(s: Setup) -> None:
    url = f"{s.tokens_url}/{s.token['token']['id']}/regenerate"
    assert s.workers.writer.request("POST", url, headers=s.workers.admin)[0] == 201


def deactivate(s: Setup) -> None:
    url = f"/api/v1/integrations/{s.integration_id}"
    assert s.workers.writer.json("PATCH", url, {"active": False}, s.workers.admin)[0] == 200


def delete(s: Setup) -> None:
    url = f"/api/v1/integrations/{s.integration_id}"
    assert s.workers.writer.request("DELETE", url, headers=s.workers.admin)[0] == 204


@pytest.mark.parametrize(
    "change", [revoke, mass_revoke, mass_revoke_all, regenerate, deactivate, delete]
)
async def test_change_through_one_worker_invalidates_the_other_workers_cache(
    app: FastAPI, setup: Setup, change: Callable[[Setup], None]
) -> None:
    await prove_reader_answers_from_cache(app, setup)
    change(setup)
    wait_for(setup.introspect_on_reader, (200, {"active": False}))


async def test_reactivation_through_one_worker_is_seen_by_the_other(
    app: FastAPI, setup: Setup
) -> None:
    deactivate(setup)
    wait_for(setup.introspect_on_reader, (200, {"active": False}))
    url = f"/api/v1/integrations/{setup.integration_id}"
    writer, admin = setup.workers.writer, setup.workers.admin
    assert writer.json("PATCH", url, {"active": True}, admin)[0] == 200
    status, body = setup.introspect_on_reader()
    deadline = time.monotonic() + VISIBLE_WITHIN_SECONDS
    while not body.get("active"):
        assert time.monotonic() < deadline, body
        status, body = setup.introspect_on_reader()


async def test_introspection_client_revoked_through_one_worker_is_refused_by_the_other(
    setup: Setup,
) -> None:
    assert setup.introspect_on_reader()[0] == 200  # the reader now caches the client
    url = f"/api/v1/introspection-clients/{setup.gateway_client_id}/revoke"
    assert setup.workers.writer.request("POST", url, headers=setup.workers.admin)[0] == 200
    wait_for(setup.introspect_on_reader, (401, {"error": "invalid_client"}))


def _active_introspections(http: HttpClient) -> float:
    http.connection.request("GET", "/metrics")
    text = http.connection.getresponse().read().decode()
    return sample(text, "gi_introspection_outcomes_total", endpoint="introspect", outcome="active")


async def test_metrics_scraped_from_one_worker_cover_both(setup: Setup) -> None:
    writer, reader = setup.workers.writer, setup.workers.reader
    before = _active_introspections(writer)
    fields = urlencode({"token": setup.token["secret"]})
    for http in (writer, reader):
        for _ in range(5):
            assert http.form("/oauth2/introspect", fields, setup.gateway)[1]["active"] is True
    deadline = time.monotonic() + 10
    while _active_introspections(writer) < before + 10:  # workers publish once a second
        assert time.monotonic() < deadline, "the other worker's introspections are missing"
        time.sleep(0.1)
