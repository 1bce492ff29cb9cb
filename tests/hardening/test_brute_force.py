"""Repeated failed authentications are throttled: 429 with Retry-After, and audited.

Logins are throttled per username and per client address (the ASGI ``client``: proxy
headers are not trusted); introspection-client credentials per client address. During a
lock-out a login is refused without its password being checked, so a right password
gets exactly the answer a wrong one gets.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.auth.models import Role
from app.auth.service import auth_service
from app.auth.throttle import WINDOW_SECONDS
from app.db.session import begin_write
from app.introspection.answers import CLIENT_THROTTLE_WINDOW_SECONDS
from app.introspection.sqlite_watch import SqliteChangeWatcher
from app.throttle import FailureThrottle
from tests.fixtures.api import (
    create_integration,
    create_user,
    issue_token,
    settle_cache,
    state,
)

TOKEN_URL = "/api/v1/auth/token"
PASSWORD = "brute-force-password-for-tests"


@pytest.fixture
async def from_address(app: FastAPI) -> AsyncIterator[Any]:
    """``from_address(host)``: an HTTP client whose requests come from ``host``."""
    clients: list[httpx.AsyncClient] = []

    def make(host: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(http)
        return http

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
async def user(app: FastAPI) -> str:
    username = f"brute-{uuid.uuid4().hex[:10]}"
    await create_user(app, username, Role.ADMIN, PASSWORD)
    return username


def later(throttle: FailureThrottle, seconds: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Move ``throttle``'s clock ``seconds`` ahead (instead of waiting)."""
    real = throttle.clock
    monkeypatch.setattr(throttle, "clock", lambda: real() + seconds)


async def login(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post(TOKEN_URL, data={"username": username, "password": password})


def assert_throttled(response: httpx.Response, *, window: int) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window
    return retry_after


async def login_failures(
    http: httpx.AsyncClient, admin_headers: dict[str, str], username: str
) -> list[dict[str, Any]]:
    response = await http.get(
        "/api/v1/audit-events",
        params={"action": "auth.login_failed", "limit": 500},
        headers=admin_headers,
    )
    return [e for e in response.json()["items"] if e["details"].get("username") == username]


# --- logins --------------------------------------------------------------------------


async def test_failed_logins_for_one_username_are_throttled_and_audited(
    app: FastAPI,
    from_address: Any,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    user: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = state(app).settings.login_failures_per_username
    # From ever-changing addresses: only the username can be what is counted.
    for attempt in range(limit):
        wrong = await login(from_address(f"198.51.100.{attempt + 1}"), user, "wrong-password-1")
        assert wrong.status_code == 401
    elsewhere = from_address("203.0.113.200")
    refused_wrong = await login(elsewhere, user.upper(), "wrong-password-1")  # same user
    refused_right = await login(elsewhere, user, PASSWORD)
    assert_throttled(refused_wrong, window=WINDOW_SECONDS)
    assert_throttled(refused_right, window=WINDOW_SECONDS)
    # A right password during the lock-out is not told apart from a wrong one.
    assert refused_right.json() == refused_wrong.json()
    assert refused_right.headers["content-type"] == refused_wrong.headers["content-type"]
    assert "access_token" not in refused_right.text
    assert PASSWORD not in refused_right.text

    events = await login_failures(client, admin_headers, user)
    # Of the two refusals from one address in one window, the first is recorded in full;
    # the second is counted into that address's summary (see the test below).
    assert len(events) == limit + 1
    assert sum(e["details"].get("throttled") is True for e in events) == 1
    assert all(PASSWORD not in str(e) for e in events)

    # Another user is not affected; and once the window has passed, the user may log in.
    other = f"other-{uuid.uuid4().hex[:8]}"
    await create_user(app, other, Role.VIEWER, PASSWORD)
    assert (await login(elsewhere, other, PASSWORD)).status_code == 200
    later(state(app).login_throttle.by_username, WINDOW_SECONDS + 1, monkeypatch)
    assert (await login(elsewhere, user, PASSWORD)).status_code == 200


async def test_failed_logins_from_one_address_are_throttled(
    app: FastAPI, from_address: Any, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle = state(app).login_throttle
    monkeypatch.setattr(throttle.by_address, "max_failures", 5)  # fewer slow hashes to wait for
    attacker = from_address("192.0.2.66")
    for attempt in range(5):  # a different username each time: only the address repeats
        assert (await login(attacker, f"guess-{attempt}", "wrong-password-1")).status_code == 401
    assert_throttled(await login(attacker, user, PASSWORD), window=WINDOW_SECONDS)
    # The same user from another address is fine: the lock-out is the address's.
    assert (await login(from_address("192.0.2.67"), user, PASSWORD)).status_code == 200


async def test_a_successful_login_clears_the_usernames_failures(
    app: FastAPI, from_address: Any, user: str
) -> None:
    limit = state(app).settings.login_failures_per_username
    http = from_address("198.51.100.50")
    for _ in range(limit - 1):
        assert (await login(http, user, "wrong-password-1")).status_code == 401
    assert (await login(http, user, PASSWORD)).status_code == 200
    for _ in range(limit - 1):
        assert (await login(http, user, "wrong-password-1")).status_code == 401
    assert (await login(http, user, PASSWORD)).status_code == 200


async def test_concurrent_guesses_cannot_outrun_the_limit(
    app: FastAPI, from_address: Any, user: str
) -> None:
    """Each attempt is counted before its password is checked (which takes a while)."""
    limit = state(app).settings.login_failures_per_username
    responses = await asyncio.gather(
        *(
            login(from_address(f"198.51.100.{i + 100}"), user, f"wrong-password-{i}")
            for i in range(limit * 2)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * limit + [429] * limit


# --- introspection clients ------------------------------------------------------------


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def test_failed_introspection_client_authentications_are_throttled(
    app: FastAPI,
    from_address: Any,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = await client.post(
        "/api/v1/introspection-clients", json={"name": "gw"}, headers=admin_headers
    )
    client_id, secret = created.json()["client_id"], created.json()["client_secret"]
    good = _basic(client_id, secret)
    integration = await create_integration(client, admin_headers)
    token = (await issue_token(client, admin_headers, integration["id"]))["secret"]
    attacker = from_address("192.0.2.10")

    limit = state(app).settings.client_auth_failures_per_address
    wrong_secrets = [
        _basic(client_id, secret[:-1] + ("x" if secret[-1] != "x" else "y")),  # bad checksum
        _basic(str(uuid.uuid4()), secret),  # unknown client
        {"Authorization": "Basic bm90OmFjbGllbnQ="},  # not: a client
        {"Authorization": "Bearer " + token},  # not even Basic
    ]
    for attempt in range(limit):
        response = await attacker.post(
            "/oauth2/introspect",
            data={"token": token},
            headers=wrong_secrets[attempt % len(wrong_secrets)],
        )
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_client"}

    for headers in (wrong_secrets[0], good):  # right credentials too: refused unchecked
        refused = await attacker.post("/oauth2/introspect", data={"token": token}, headers=headers)
        assert_throttled(refused, window=CLIENT_THROTTLE_WINDOW_SECONDS)
        assert refused.json() == {"error": "temporarily_unavailable"}
    forward = await attacker.get(
        "/oauth2/forward-auth",
        headers={
            "X-Gateway-Authorization": good["Authorization"],
            "Authorization": f"Bearer {token}",
        },
    )
    assert forward.status_code == 403  # what gateways understand; no 429 there

    # The gateway, calling from its own address, is not affected.
    gateway = from_address("10.1.2.3")
    answer = await gateway.post("/oauth2/introspect", data={"token": token}, headers=good)
    assert answer.json()["active"] is True
    # After the window, the address may try again.
    throttle = state(app).introspection.introspector.throttle
    later(throttle, CLIENT_THROTTLE_WINDOW_SECONDS + 1, monkeypatch)
    state(app).introspection.cache.clear()  # so that the credentials are checked afresh
    answer = await attacker.post("/oauth2/introspect", data={"token": token}, headers=good)
    assert answer.json()["active"] is True


@pytest.fixture
def slow_watcher(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite, poll for other connections' commits rarely: as on a fast machine, where a
    gateway is verified before the watcher first sees its new client row."""
    listener = state(app).introspection.listener
    if isinstance(listener, SqliteChangeWatcher):
        monkeypatch.setattr(listener, "poll_seconds", 0.3)  # the app outlives the test


async def test_a_gateway_verified_before_a_lock_out_keeps_working(
    app: FastAPI,
    slow_watcher: None,
    from_address: Any,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> None:
    """Behind one NAT address with an attacker, a gateway whose credentials the process
    has verified (and remembers by their digest) is not locked out with it."""
    integration = await create_integration(client, admin_headers)
    token = (await issue_token(client, admin_headers, integration["id"]))["secret"]
    shared = from_address("192.0.2.99")
    answer = await shared.post("/oauth2/introspect", data={"token": token}, headers=gateway_headers)
    assert answer.json()["active"] is True
    for _ in range(state(app).settings.client_auth_failures_per_address + 1):
        await shared.post("/oauth2/introspect", data={"token": token}, headers=_basic("x", "y"))
    assert (
        await shared.post("/oauth2/introspect", data={"token": token}, headers=_basic("x", "y"))
    ).status_code == 429
    # On SQLite the refusals' audit records reach the file watcher too: they are commits,
    # and must not make the process forget the gateway it verified.
    await settle_cache(app)
    if state(app).introspection.cache.trusted:  # while its invalidation feed is up
        answer = await shared.post(
            "/oauth2/introspect", data={"token": token}, headers=gateway_headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["active"] is True


# --- the throttle itself --------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_locks_after_max_failures_within_the_window_and_slides() -> None:
    clock = Clock()
    throttle = FailureThrottle(max_failures=3, window_seconds=60, clock=clock)
    for _ in range(2):
        throttle.record_failure("k")
        clock.now += 10
    assert throttle.retry_after("k") == 0
    throttle.record_failure("k")  # failures at 1000, 1010, 1020
    assert throttle.retry_after("k") == 40  # until 1000 + 60, at 1020
    clock.now = 1059.5
    assert throttle.retry_after("k") == 1
    clock.now = 1060
    assert throttle.retry_after("k") == 0  # the oldest left the window
    throttle.record_failure("k")  # 1010, 1020, 1060
    assert throttle.retry_after("k") == 10
    assert throttle.retry_after("other") == 0


def test_throttle_forgive_and_reset() -> None:
    clock = Clock()
    throttle = FailureThrottle(max_failures=2, window_seconds=60, clock=clock)
    throttle.record_failure("k")
    throttle.record_failure("k")
    assert throttle.retry_after("k") > 0
    throttle.forgive("k")
    assert throttle.retry_after("k") == 0
    throttle.record_failure("k")
    throttle.reset("k")
    assert throttle.retry_after("k") == 0
    assert len(throttle) == 0
    throttle.forgive("never-seen")  # harmless


def test_throttle_memory_is_bounded() -> None:
    clock = Clock()
    throttle = FailureThrottle(max_failures=2, window_seconds=60, max_keys=100, clock=clock)
    for i in range(1000):
        throttle.record_failure(f"key-{i}")
        throttle.record_failure(f"key-{i}")
        clock.now += 0.001
    assert len(throttle) <= 100
    assert throttle.retry_after("key-999") > 0  # the newest are kept


def test_throttle_makes_room_from_the_least_recently_failing_key() -> None:
    clock = Clock()
    throttle = FailureThrottle(max_failures=3, window_seconds=60, max_keys=3, clock=clock)
    for key in ("a", "b", "c"):
        throttle.record_failure(key)
        clock.now += 1
    throttle.record_failure("a")  # "a" failed again: now "b" is the least recent
    throttle.record_failure("d")
    assert len(throttle) == 3
    throttle.record_failure("a")
    assert throttle.retry_after("a") > 0  # its three failures were all kept
    clock.now += 61  # every key expires; a new one takes the room of expired ones only
    throttle.record_failure("e")
    assert len(throttle) == 1


async def test_a_flood_of_refused_logins_writes_a_bounded_trail_and_one_summary(
    app: FastAPI,
    from_address: Any,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    throttle = state(app).login_throttle
    attacker_address = "192.0.2.77"
    attacker = from_address(attacker_address)
    limit = state(app).settings.login_failures_per_address
    for attempt in range(limit):
        assert (await login(attacker, f"guess-{attempt}", "wrong-password-1")).status_code == 401
    for attempt in range(200):
        refused = await login(attacker, f"guess-{attempt}", "wrong-password-1")
        assert refused.status_code == 429

    async def events(action: str) -> list[dict[str, Any]]:
        response = await client.get(
            "/api/v1/audit-events", params={"action": action, "limit": 500}, headers=admin_headers
        )
        return [e for e in response.json()["items"] if e["details"]["address"] == attacker_address]

    assert len(await events("auth.login_failed")) == limit + 1  # not 230
    # Once the address's window has closed, the lifespan task writes one summary of the rest.
    real_clock = throttle.refusals.clock
    monkeypatch.setattr(throttle.refusals, "clock", lambda: real_clock() + WINDOW_SECONDS + 1)
    async with state(app).sessionmaker() as session:
        await begin_write(session)
        assert await auth_service.record_throttled_refusals(session, throttle) == 1
        await session.commit()
    summaries = await events("auth.login_throttled")
    assert [s["details"]["refusals"] for s in summaries] == [199]
    assert all("guess-" not in str(e) for e in await events("auth.login_failed"))
