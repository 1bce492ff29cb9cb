"""When PostgreSQL refuses a connection, or this process's pool is exhausted: 503, never 500.

PostgreSQL is made to refuse with a role of its own whose ``CONNECTION LIMIT`` the test
sets (0: every new connection gets ``too many connections for role``, SQLSTATE 53300, the
same error as a server at ``max_connections``); the pool is exhausted by holding the only
connection of a one-connection pool.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from app.apps import create_app
from app.config import Settings
from app.state import app_state
from tests.fixtures.api import create_integration, issue_token
from tests.fixtures.database import backend

pytestmark = pytest.mark.skipif(
    backend() != "postgres", reason="connection limits are PostgreSQL's"
)

API = "/api/v1"


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def own_role(
    database_url: str, *, limit: int = -1
) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """A login role with every privilege the service needs and ``CONNECTION LIMIT limit``.

    Yields its URL and an administrative connection (to change the limit, to count the
    role's connections); the role is dropped afterwards.
    """
    role = f"gi_budget_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_dsn(database_url))
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT {int(limit)}")
        await admin.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        await admin.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        url = make_url(database_url).set(username=role, password=None)
        yield url.render_as_string(hide_password=False), admin
    finally:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role
        )
        await admin.execute(f"DROP OWNED BY {role}")
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://budget") as http:
            yield app, http


def assert_503_problem(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["status"] == 503
    assert body["title"] == "Service unavailable"
    assert body["detail"] == detail
    for leak in ("Traceback", "asyncpg", "TooManyConnections", "role"):
        assert leak not in response.text


@pytest.fixture
async def secret(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> str:
    """An active token's secret, issued through the suite's own app."""
    integration = await create_integration(client, admin_headers)
    return str((await issue_token(client, admin_headers, integration["id"]))["secret"])


async def test_refused_connection_is_503_on_management_and_introspection(
    database_url: str,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    secret: str,
) -> None:
    async with own_role(database_url, limit=0) as (url, admin):
        settings = Settings(environment="test", database_url=url, issuer="https://budget.test")
        async with running(settings) as (_app, http):
            refused = "The database refused a connection; try again shortly."
            assert_503_problem(
                await http.get(f"{API}/integrations", headers=admin_headers), refused
            )
            assert_503_problem(
                await http.post(
                    f"{API}/integrations",
                    json={"name": "refused", "notification_email": "r@example.com"},
                    headers=admin_headers,
                ),
                refused,
            )
            assert_503_problem(
                await http.post(f"{API}/auth/token", data={"username": "a", "password": "b"}),
                refused,
            )
            introspected = await http.post(
                "/oauth2/introspect", data={"token": secret}, headers=gateway_headers
            )
            assert introspected.status_code == 503
            assert introspected.json() == {"error": "temporarily_unavailable"}
            assert introspected.headers["retry-after"]
            assert (await http.get("/readyz")).status_code == 503

            # Capacity comes back: the same process serves again, without a restart.
            await admin.execute(f'ALTER ROLE "{make_url(url).username}" CONNECTION LIMIT -1')
            listed = await http.get(f"{API}/integrations", headers=admin_headers)
            assert listed.status_code == 200, listed.text
            introspected = await http.post(
                "/oauth2/introspect", data={"token": secret}, headers=gateway_headers
            )
            assert introspected.status_code == 200
            assert introspected.json()["active"] is True


async def test_exhausted_pool_says_busy_not_down(
    database_url: str,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    secret: str,
) -> None:
    settings = Settings(
        environment="test",
        database_url=database_url,
        issuer="https://budget.test",
        database_max_connections=3,
        database_pool_size=1,
        introspection_pool_size=1,
        database_pool_timeout_seconds=0.2,
    )
    async with running(settings) as (app, http):
        engine = app_state(app).engine
        async with engine.connect() as held:  # the pool's only connection, kept busy
            await held.exec_driver_sql("SELECT 1")
            response = await http.get(f"{API}/integrations", headers=admin_headers)
            assert_503_problem(response, "The service is busy; try again shortly.")
            # Introspection has connections of its own: it keeps answering.
            introspected = await http.post(
                "/oauth2/introspect", data={"token": secret}, headers=gateway_headers
            )
            assert introspected.status_code == 200
            assert introspected.json()["active"] is True
        listed = await http.get(f"{API}/integrations", headers=admin_headers)
        assert listed.status_code == 200, listed.text


async def test_a_process_never_opens_more_than_its_cap(
    database_url: str,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> None:
    """Under concurrent management and introspection load, the process stays within
    DATABASE_MAX_CONNECTIONS (counted by PostgreSQL, by application_name)."""
    integration = await create_integration(client, admin_headers)
    tokens = [
        (await issue_token(client, admin_headers, integration["id"], name=f"t{i}"))["secret"]
        for i in range(5)
    ]
    async with own_role(database_url) as (url, observer):
        settings = Settings(
            environment="test",
            database_url=url,
            issuer="https://budget.test",
            database_max_connections=5,
            introspection_cache_size=0,  # every introspection asks PostgreSQL
        )
        budget = settings.connection_budget
        assert (budget.management, budget.introspection, budget.listen) == (2, 2, 1)
        peak = await _peak_under_load(
            settings, observer, integration["id"], tokens, admin_headers, gateway_headers
        )
    assert 3 <= peak <= settings.database_max_connections, peak


async def _peak_under_load(
    settings: Settings,
    observer: asyncpg.Connection,
    integration_id: str,
    tokens: list[str],
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> int:
    role = make_url(settings.database_url).username
    peak = 0
    statuses: list[int] = []
    async with running(settings) as (_app, http):
        stop = asyncio.Event()

        async def count() -> None:
            nonlocal peak
            while not stop.is_set():
                rows = await observer.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", role
                )
                peak = max(peak, rows)
                await asyncio.sleep(0.005)

        async def load(i: int) -> None:
            for round_ in range(10):
                if i % 2:
                    response = await http.post(
                        "/oauth2/introspect",
                        data={"token": tokens[(i + round_) % len(tokens)]},
                        headers=gateway_headers,
                    )
                else:
                    response = await http.patch(
                        f"{API}/integrations/{integration_id}",
                        json={"description": f"load {i} {round_}"},
                        headers=admin_headers,
                    )
                statuses.append(response.status_code)

        counter = asyncio.create_task(count())
        try:
            await asyncio.gather(*(load(i) for i in range(30)))
        finally:
            stop.set()
            await counter
    assert set(statuses) == {200}, statuses
    return peak
