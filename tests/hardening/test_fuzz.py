"""Property-based fuzzing of every operation in the app's own OpenAPI document.

schemathesis generates requests for each operation (valid and invalid ones) and sends
them to a real ``python -m app serve`` process; every response must pass schemathesis's
standard checks, all of them enabled: no server error, status code documented, content
type documented, body and headers conform to the schema, schema-valid input accepted,
schema-invalid input rejected, auth not ignored, undeclared methods answered 405 with a
correct ``Allow``. Management operations run as an admin session; ``/oauth2/*`` with the
credentials of an introspection client. A fixed number of examples per operation keeps
the run bounded.

About half of the generated ids in paths are swapped for those of a real integration,
token and introspection client (made afresh for each operation), so that the fuzzing
reaches past the 404s.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case

from app.openapi import openapi_document
from devkit.server import uvicorn_server
from tests.hardening.helpers import mint_admin_session, run_in_fresh_loop, server_env

pytestmark = pytest.mark.process

# Bounded for CI; FUZZ_EXAMPLES=500 for a deeper run by hand.
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "30"))
FUZZ_ADMIN = "admin"  # created by the admin_headers fixture

SCHEMA = schemathesis.openapi.from_dict(openapi_document())


@dataclass
class Target:
    base_url: str
    database_url: str
    admin: dict[str, str] = field(default_factory=dict)
    gateway: dict[str, str] = field(default_factory=dict)
    real_ids: dict[str, str] = field(default_factory=dict)

    def renew_admin_session(self) -> None:
        secret = run_in_fresh_loop(lambda: mint_admin_session(self.database_url, FUZZ_ADMIN))
        self.admin = {"Authorization": f"Bearer {secret}"}

    def headers_for(self, case: Case) -> dict[str, str]:
        path = case.operation.path
        if path == "/oauth2/forward-auth":
            return {"X-Gateway-Authorization": self.gateway["Authorization"]}
        if path.startswith("/oauth2/"):
            return self.gateway
        return self.admin


def aim_at_real_objects(case: Case, target: Target) -> None:
    """Swap about half of the well-formed ids in the path for those of real objects.

    Done to the generated case before it is sent (schemathesis re-classifies an edited
    case), and only to values that are valid UUIDs: a deliberately invalid one stays.
    """
    for name, value in (case.path_parameters or {}).items():
        try:
            generated = uuid.UUID(str(value))
        except ValueError:
            continue
        if name in target.real_ids and generated.int % 2 == 0:
            case.path_parameters[name] = target.real_ids[name]


def move_custom_expiry_into_the_future(case: Case) -> None:
    """Move a custom expiry that lies in the past into the future.

    "In the future" is the one input rule that JSON Schema cannot state; a past date is
    refused with 422 (tests/api/test_tokens.py checks that). Only the date changes, and
    schemathesis re-classifies a case edited before it is sent, so the request is still
    checked like any other.
    """
    body = case.body
    if not isinstance(body, dict) or body.get("expiration_policy") != "custom":
        return
    try:
        expires_at = datetime.fromisoformat(str(body.get("expires_at")))
    except ValueError:
        return
    now = datetime.now(UTC)
    if expires_at.tzinfo is not None and expires_at <= now:
        body["expires_at"] = (now + timedelta(days=30)).isoformat().replace("+00:00", "Z")


def drop_made_up_cursors(case: Case) -> None:
    """Remove a generated ``cursor``: only one the server issued can be valid.

    A cursor is opaque (the schema can say no more than its alphabet and length) and is
    not combined with ``offset``; made-up ones are refused with 422, which
    tests/api/test_pagination.py checks.
    """
    if case.query and "cursor" in case.query:
        del case.query["cursor"]


@pytest.fixture(scope="module")
def fuzz_server(database_url: str, admin_headers: dict[str, str]) -> Iterator[str]:
    # After each successful introspection schemathesis probes with invalid credentials,
    # all from 127.0.0.1: the per-address throttle of failed client authentications
    # (see test_brute_force.py) would turn the probes into 429s once 20 had failed.
    env = server_env(database_url, CLIENT_AUTH_FAILURES_PER_ADDRESS="1000000")
    with uvicorn_server(env) as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture
def target(fuzz_server: str, database_url: str) -> Target:
    """A fresh admin session and real objects to aim at (the tables were just emptied)."""
    target = Target(base_url=fuzz_server, database_url=database_url)
    target.renew_admin_session()
    api = f"{fuzz_server}/api/v1"
    integration = requests.post(
        f"{api}/integrations",
        json={"name": "fuzz", "notification_email": "fuzz@example.com"},
        headers=target.admin,
        timeout=10,
    ).json()
    issued = requests.post(
        f"{api}/integrations/{integration['id']}/tokens",
        json={"name": "fuzz", "expiration_policy": "30d"},
        headers=target.admin,
        timeout=10,
    ).json()
    client = requests.post(
        f"{api}/introspection-clients", json={"name": "fuzz"}, headers=target.admin, timeout=10
    ).json()
    credentials = f"{client['client_id']}:{client['client_secret']}".encode()
    target.gateway = {"Authorization": f"Basic {base64.b64encode(credentials).decode()}"}
    target.real_ids = {
        "integration_id": integration["id"],
        "token_id": issued["token"]["id"],
        "client_id": client["client_id"],
    }
    return target


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_passes_every_standard_check(case: Case, target: Target) -> None:
    aim_at_real_objects(case, target)
    move_custom_expiry_into_the_future(case)
    drop_made_up_cursors(case)
    response = case.call_and_validate(base_url=target.base_url, headers=target.headers_for(case))
    if case.operation.path == "/api/v1/auth/logout" and response.status_code == 204:
        target.renew_admin_session()
