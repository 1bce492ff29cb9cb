"""The service behind a real PgBouncer in transaction pooling mode.

Two ``python -m app serve`` processes reach PostgreSQL through PgBouncer
(``DATABASE_URL``, ``DATABASE_PGBOUNCER=true``) and LISTEN on a direct connection
(``DATABASE_LISTEN_URL``). Management calls, a burst of concurrent introspections that all
ask the database, and a revoke made through one process and seen by the other (which had
the token cached) all work; nothing answers 500 or 503.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy.engine import make_url

from devkit.pgbouncer import pgbouncer, pgbouncer_binary
from devkit.server import HttpClient, run_cli, uvicorn_server
from tests.fixtures.database import backend

if pgbouncer_binary() is None and os.environ.get("CI") == "true":
    raise RuntimeError("pgbouncer is required in CI (make test installs it with apt-get)")
pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(backend() != "postgres", reason="PgBouncer pools PostgreSQL"),
    pytest.mark.skipif(pgbouncer_binary() is None, reason="pgbouncer is not installed"),
]

PASSWORD = "pgbouncer-test-password"
VISIBLE_WITHIN_SECONDS = 2.0
INTROSPECTIONS = 800


@dataclass
class Bouncer:
    port: int
    pooled_url: str


@pytest.fixture(scope="module")
def bouncer(database_url: str) -> Iterator[Bouncer]:
    url = make_url(database_url)
    with pgbouncer(
        url.host or "127.0.0.1",
        url.port or 5432,
        users=(url.username or "postgres",),
        pool_size=8,
    ) as port:
        pooled = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        yield Bouncer(port=port, pooled_url=pooled)


def _env(database_url: str, bouncer: Bouncer, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": bouncer.pooled_url,
        "DATABASE_PGBOUNCER": "true",
        "DATABASE_LISTEN_URL": database_url,  # LISTEN needs a session: direct
        "ENVIRONMENT": "test",
        "ISSUER": "https://pgbouncer.test",
        "INTROSPECTION_CACHE_TTL_SECONDS": "600",  # only an invalidation can change an answer
        **extra,
    }


def _show(bouncer: Bouncer, what: str) -> list[dict[str, str]]:
    """PgBouncer's admin console (simple query protocol only, hence psql)."""
    result = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(bouncer.port),
            "-U",
            "postgres",
            "-d",
            "pgbouncer",
            "-A",
            "-F",
            "\t",
            "-P",
            "footer=off",
            "-c",
            f"SHOW {what}",
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    header, *rows = result.stdout.splitlines()
    names = header.split("\t")
    return [dict(zip(names, row.split("\t"), strict=False)) for row in rows]


def _basic(client: dict[str, str]) -> dict[str, str]:
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _introspect(http: HttpClient, gateway: dict[str, str], secret: str) -> tuple[int, Any]:
    return http.form("/oauth2/introspect", urlencode({"token": secret}), gateway)


def test_management_introspection_and_cross_process_revoke_through_pgbouncer(
    database_url: str, bouncer: Bouncer
) -> None:
    # The writer asks the database for every introspection (no cache): the raw asyncpg
    # path is exercised through PgBouncer. The reader caches, so only NOTIFY (on its
    # direct LISTEN connection) can tell it about the revoke.
    writer_env = _env(database_url, bouncer, INTROSPECTION_CACHE_SIZE="0")
    reader_env = _env(database_url, bouncer)
    username = f"bouncer-{uuid.uuid4().hex[:8]}"
    run_cli(writer_env, "create-admin", username, "--password-stdin", stdin=PASSWORD + "\n")
    gateway = _basic(json.loads(run_cli(writer_env, "create-introspection-client", "bouncer")))

    with uvicorn_server(writer_env) as first, uvicorn_server(reader_env) as second:
        writer, reader = HttpClient(first.port), HttpClient(second.port)
        status, login = writer.form(
            "/api/v1/auth/token", urlencode({"username": username, "password": PASSWORD}), {}
        )
        assert status == 200, login
        admin = {"Authorization": f"Bearer {login['access_token']}"}

        # Management: the same statements again and again, on whichever server connection.
        status, integration = writer.json(
            "POST",
            "/api/v1/integrations",
            {"name": f"Bouncer {uuid.uuid4().hex[:6]}", "notification_email": "b@example.com"},
            admin,
        )
        assert status == 201, integration
        tokens_url = f"/api/v1/integrations/{integration['id']}/tokens"
        secrets_ = []
        for i in range(10):
            status, issued = writer.json(
                "POST", tokens_url, {"name": f"t{i}", "expiration_policy": "30d"}, admin
            )
            assert status == 201, issued
            secrets_.append(issued["secret"])
        for _ in range(5):
            status, listed = writer.request("GET", tokens_url + "?status=active", headers=admin)
            assert status == 200, listed
            assert listed["total"] == 10
        status, patched = writer.json(
            "PATCH", f"/api/v1/integrations/{integration['id']}", {"description": "pooled"}, admin
        )
        assert status == 200, patched
        assert reader.request("GET", "/readyz")[0] == 200

        # A burst of concurrent introspections, every one a database lookup.
        def burst(worker: int) -> list[tuple[int, Any]]:
            http = HttpClient(first.port)
            try:
                return [
                    _introspect(http, gateway, secrets_[(worker + i) % len(secrets_)])
                    for i in range(INTROSPECTIONS // 16)
                ]
            finally:
                http.close()

        with ThreadPoolExecutor(16) as pool:
            answers = [answer for batch in pool.map(burst, range(16)) for answer in batch]
        assert len(answers) == INTROSPECTIONS
        failures = [a for a in answers if a[0] != 200 or a[1].get("active") is not True]
        assert not failures, (len(failures), failures[:3])

        # Cross-process revoke: the reader has the token cached, then sees the revoke.
        victim = secrets_[0]
        status, body = _introspect(reader, gateway, victim)
        assert (status, body["active"]) == (200, True)
        status, listed = writer.request("GET", tokens_url + "?q=t0", headers=admin)
        token_id = next(t["id"] for t in listed["items"] if t["name"] == "t0")
        status, revoked = writer.request("POST", f"{tokens_url}/{token_id}/revoke", headers=admin)
        assert status == 200, revoked
        deadline = time.monotonic() + VISIBLE_WITHIN_SECONDS
        while True:
            status, body = _introspect(reader, gateway, victim)
            assert status == 200, body
            if body == {"active": False}:
                break
            assert time.monotonic() < deadline, "the revoke never reached the other process"
            time.sleep(0.01)
        writer.close()
        reader.close()

    # It really went through PgBouncer, in transaction mode (lookups are batched: fewer
    # transactions than introspections). Its console needs psql (the simple query protocol).
    if shutil.which("psql") is None:
        return
    database = make_url(database_url).database
    stats = {row["database"]: row for row in _show(bouncer, "STATS")}
    assert int(stats[database]["total_xact_count"]) > 100
    pools = [row for row in _show(bouncer, "POOLS") if row["database"] == database]
    assert [row["pool_mode"] for row in pools] == ["transaction"]
