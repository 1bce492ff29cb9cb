"""The database goes away and comes back; the service fails closed and then recovers.

The service runs in-process (``create_app`` with its lifespan) against the test database
through a TCP proxy (``proxy.py``) that this test cuts and restores. While it is cut:
``/readyz`` answers 503, introspection and forward-auth answer 503 (never ``active:
true`` for a token they cannot verify), management calls answer 503 problem+json. Once
restored, everything works again in the same process, without a restart.

PostgreSQL only: the embedded SQLite database has no connection to cut.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from app.apps import create_app
from app.config import Settings
from app.state import app_state
from tests.fixtures.api import create_integration, issue_token
from tests.fixtures.database import backend
from tests.hardening.proxy import TcpProxy

pytestmark = pytest.mark.skipif(
    backend() != "postgres", reason="SQLite is a file: there is no connection to cut"
)

API = "/api/v1"


async def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait for ``condition`` (bounded): the service reacts to events, at its own pace."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@dataclass
class Outage:
    proxy: TcpProxy
    app: FastAPI
    http: httpx.AsyncClient
    admin: dict[str, str]
    gateway: dict[str, str]
    secret: str  # an active token's
    revoked_secret: str
    integration_id: str

    @property
    def listener_connected(self) -> bool:
        return bool(app_state(self.app).introspection.cache.trusted)

    async def introspect(self, secret: str) -> httpx.Response:
        return await self.http.post(
            "/oauth2/introspect", data={"token": secret}, headers=self.gateway
        )

    async def forward_auth(self, secret: str) -> httpx.Response:
        return await self.http.get(
            "/oauth2/forward-auth",
            headers={
                "X-Gateway-Authorization": self.gateway["Authorization"],
                "Authorization": f"Bearer {secret}",
            },
        )


@pytest.fixture
async def outage(
    database_url: str,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> AsyncIterator[Outage]:
    # The objects are made through the suite's own app, straight to the database.
    integration = await create_integration(client, admin_headers)
    active = await issue_token(client, admin_headers, integration["id"], name="active")
    revoked = await issue_token(client, admin_headers, integration["id"], name="revoked")
    response = await client.post(
        f"{API}/integrations/{integration['id']}/tokens/{revoked['token']['id']}/revoke",
        headers=admin_headers,
    )
    assert response.status_code == 200

    url = make_url(database_url)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app(
        Settings(
            environment="test",
            database_url=proxied,
            issuer="https://outage.test",
            database_pool_size=4,
            introspection_pool_size=2,
        )
    )
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://outage") as http:
                state = Outage(
                    proxy=proxy,
                    app=app,
                    http=http,
                    admin=admin_headers,
                    gateway=gateway_headers,
                    secret=active["secret"],
                    revoked_secret=revoked["secret"],
                    integration_id=integration["id"],
                )
                await eventually(lambda: state.listener_connected)
                yield state
                proxy.restore()  # let the lifespan's shutdown flush through
    finally:
        await proxy.close()


def assert_problem_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503
    assert body["title"] == "Service unavailable"
    assert response.headers["retry-after"]
    for leak in ("Traceback", "SELECT", "asyncpg", "sqlalchemy", "password"):
        assert leak not in response.text


def assert_introspection_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {"error": "temporarily_unavailable"}
    assert response.headers["retry-after"]


async def assert_everything_works(state: Outage) -> None:
    http = state.http
    assert (await http.get("/readyz")).status_code == 200
    introspected = await state.introspect(state.secret)
    assert introspected.status_code == 200
    assert introspected.json()["active"] is True
    assert (await state.introspect(state.revoked_secret)).json() == {"active": False}
    assert (await state.forward_auth(state.secret)).status_code == 200
    listed = await http.get(f"{API}/integrations", headers=state.admin)
    assert listed.status_code == 200, listed.text
    created = await http.post(
        f"{API}/integrations",
        json={"name": f"after-{state.proxy.accepted}", "notification_email": "a@example.com"},
        headers=state.admin,
    )
    assert created.status_code == 201, created.text


async def test_cut_database_fails_closed_then_recovers_without_a_restart(
    outage: Outage,
) -> None:
    http = outage.http
    # Warm every path, so that each answer below could come from memory if it were allowed.
    await assert_everything_works(outage)
    cache = app_state(outage.app).introspection.cache
    assert len(cache) >= 2

    outage.proxy.cut()
    await eventually(lambda: not outage.listener_connected)  # the feed is known lost

    assert (await http.get("/readyz")).status_code == 503
    assert (await http.get("/healthz")).status_code == 200  # alive, just not ready
    for secret in (outage.secret, outage.revoked_secret):
        assert_introspection_503(await outage.introspect(secret))
    forwarded = await outage.forward_auth(outage.secret)
    assert forwarded.status_code == 503
    # Even for a malformed token: the caller's own credentials cannot be verified now.
    assert_introspection_503(await outage.introspect("ssg_not-a-token"))

    assert_problem_503(await http.get(f"{API}/integrations", headers=outage.admin))
    assert_problem_503(await http.get(f"{API}/auth/me", headers=outage.admin))
    assert_problem_503(
        await http.post(
            f"{API}/integrations",
            json={"name": "during", "notification_email": "d@example.com"},
            headers=outage.admin,
        )
    )
    assert_problem_503(
        await http.post(
            f"{API}/integrations/{outage.integration_id}/tokens",
            json={"name": "during", "expiration_policy": "7d"},
            headers=outage.admin,
        )
    )
    assert_problem_503(
        await http.post(f"{API}/auth/token", data={"username": "admin", "password": "x"})
    )
    assert outage.proxy.refused > 0, "the service did try to reconnect"

    outage.proxy.restore()
    await assert_everything_works(outage)
    await eventually(lambda: outage.listener_connected)
    # The invalidation feed is back: a revocation is seen at once, as before the outage.
    token_id = (
        await http.get(
            f"{API}/integrations/{outage.integration_id}/tokens",
            params={"status": "active"},
            headers=outage.admin,
        )
    ).json()["items"][0]["id"]
    revoked = await http.post(
        f"{API}/integrations/{outage.integration_id}/tokens/{token_id}/revoke",
        headers=outage.admin,
    )
    assert revoked.status_code == 200
    assert (await outage.introspect(outage.secret)).json() == {"active": False}


async def test_postgresql_restart_mid_load(outage: Outage) -> None:
    """A PostgreSQL restart while requests are in flight, simulated with the proxy.

    The cluster is shared with other test runs and is never restarted; instead the proxy
    drops every open connection and refuses new ones, then accepts again, which is what
    clients see during a restart. Under a steady load of introspections, forward-auth
    checks and management reads and writes, every answer is either right or a clean 503:
    never a 500, never ``active: true`` for the revoked token.
    """
    answers: list[tuple[str, httpx.Response]] = []
    outage_seen = asyncio.Event()
    stop = asyncio.Event()

    async def worker(kind: str, call: Callable[[], Any]) -> None:
        while not stop.is_set():
            response = await call()
            answers.append((kind, response))
            if response.status_code == 503:
                outage_seen.set()
            await asyncio.sleep(0)

    http, admin = outage.http, outage.admin
    calls: dict[str, Callable[[], Any]] = {
        "introspect-active": lambda: outage.introspect(outage.secret),
        "introspect-revoked": lambda: outage.introspect(outage.revoked_secret),
        "forward-auth": lambda: outage.forward_auth(outage.secret),
        "list": lambda: http.get(f"{API}/integrations", headers=admin),
        "patch": lambda: http.patch(
            f"{API}/integrations/{outage.integration_id}",
            json={"description": f"load {len(answers)}"},
            headers=admin,
        ),
        "readyz": lambda: http.get("/readyz"),
    }
    workers = [asyncio.create_task(worker(kind, call)) for kind, call in calls.items()]
    try:
        await eventually(lambda: len(answers) >= 60)  # load is flowing
        outage.proxy.cut()  # "PostgreSQL restarts": every session dropped
        await asyncio.wait_for(outage_seen.wait(), timeout=15)
        before_restore = len(answers)
        await eventually(lambda: len(answers) >= before_restore + 30)  # ... for a moment
        outage.proxy.restore()  # "PostgreSQL is back"
        recovered = len(answers)
        await eventually(
            lambda: sum(r.status_code != 503 for _, r in answers[recovered:]) >= 60, timeout=30
        )
    finally:
        stop.set()
        await asyncio.gather(*workers)

    for kind, response in answers:
        status = response.status_code
        assert status in (200, 503), (kind, status, response.text)
        if kind == "introspect-revoked" and status == 200:
            assert response.json() == {"active": False}
        if kind == "introspect-active" and status == 200:
            assert response.json()["active"] is True
        if kind in ("list", "patch") and status == 503:
            assert_problem_503(response)
    assert any(r.status_code == 503 for _, r in answers), "the outage was never seen"
    await assert_everything_works(outage)
