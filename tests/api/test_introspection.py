"""POST /oauth2/introspect (RFC 7662) as the Global API gateway sees it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, update

from app import token_format
from app.introspection.store import IntrospectionStore, TokenRecord
from app.tokens.models import AccessToken
from tests.fixtures.api import (
    INTROSPECT,
    create_integration,
    introspect,
    issue_token,
    settle_cache,
    state,
)

INACTIVE = {"active": False}


async def assert_inactive(client: httpx.AsyncClient, headers: dict[str, str], token: str) -> None:
    response = await introspect(client, headers, token)
    assert response.status_code == 200
    assert response.json() == INACTIVE


@pytest.fixture
async def integration(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    return await create_integration(client, admin_headers, name="Zapier flow")


@pytest.fixture
async def issued(
    client: httpx.AsyncClient, admin_headers: dict[str, str], integration: dict[str, Any]
) -> dict[str, Any]:
    return await issue_token(client, admin_headers, integration["id"], expiration_policy="30d")


@contextmanager
def recorded_statements(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = state(app).engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


class CountingStore:
    """Wraps the introspection store (its only way to the database) and counts lookups."""

    def __init__(self, inner: IntrospectionStore) -> None:
        self.inner = inner
        self.lookups: list[str] = []

    async def find_token(self, token_digest: bytes) -> TokenRecord | None:
        self.lookups.append("token")
        return await self.inner.find_token(token_digest)

    async def find_client_secret_digest(self, client_id: uuid.UUID) -> bytes | None:
        self.lookups.append("client")
        return await self.inner.find_client_secret_digest(client_id)

    async def close(self) -> None:
        await self.inner.close()


@contextmanager
def database_queries(app: FastAPI) -> Iterator[list[str]]:
    """Every database query made while the block runs: store lookups and SQL statements."""
    introspector = state(app).introspection.introspector
    counting = CountingStore(introspector.store)
    introspector.store = counting
    try:
        with recorded_statements(app) as statements:
            yield counting.lookups
            counting.lookups.extend(statements)
    finally:
        introspector.store = counting.inner


# --- an active token -------------------------------------------------------------------


async def test_active_token_answers_every_contract_field(
    client: httpx.AsyncClient,
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
    issued: dict[str, Any],
) -> None:
    response = await introspect(client, gateway_headers, issued["secret"])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    token = issued["token"]
    created = datetime.fromisoformat(token["created_at"])
    expires = datetime.fromisoformat(token["expires_at"])
    assert response.json() == {
        "active": True,
        "token_type": "Bearer",
        "scope": "global",
        "merchant_scope": "all",
        "client_id": integration["id"],
        "sub": integration["id"],
        "jti": token["id"],
        "iat": int(created.timestamp()),
        "exp": int(expires.timestamp()),
        "iss": "https://integrations.test",
        "integration_id": integration["id"],
        "integration_name": "Zapier flow",
    }


async def test_token_that_never_expires_has_no_exp(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
) -> None:
    never = await issue_token(client, admin_headers, integration["id"], expiration_policy="never")
    body = (await introspect(client, gateway_headers, never["secret"])).json()
    assert body["active"] is True
    assert "exp" not in body


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "no-such-hint", ""])
async def test_token_type_hint_is_ignored(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], issued: dict[str, Any], hint: str
) -> None:
    response = await introspect(client, gateway_headers, issued["secret"], token_type_hint=hint)
    assert response.json()["active"] is True


# --- every inactive case answers exactly {"active": false} ---------------------------------


def _with_wrong_checksum(secret: str) -> str:
    last = secret[-1]
    return secret[:-1] + ("A" if last != "A" else "B")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(token_format.generate(), id="unknown"),
        pytest.param("not-a-token", id="malformed"),
        pytest.param("ssg_" + "!" * 38, id="bad-alphabet"),
        pytest.param(token_format.generate(token_format.SESSION_TOKEN_PREFIX), id="session-token"),
        pytest.param(_with_wrong_checksum(token_format.generate()), id="wrong-checksum"),
        pytest.param("ssg_" + "a" * 600, id="over-long"),
        pytest.param("é" * 40, id="non-ascii"),
    ],
)
async def test_unknown_or_malformed_token_is_inactive(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], token: str
) -> None:
    await assert_inactive(client, gateway_headers, token)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("garbage", id="malformed"),
        pytest.param(_with_wrong_checksum(token_format.generate()), id="wrong-checksum"),
        pytest.param("ssg_" + "x" * 513, id="over-long"),
    ],
)
async def test_malformed_tokens_are_rejected_without_any_database_query(
    app: FastAPI, client: httpx.AsyncClient, gateway_headers: dict[str, str], token: str
) -> None:
    await settle_cache(app)  # the fixtures' commits: no cache emptying pending
    await assert_inactive(client, gateway_headers, token_format.generate())  # client now cached
    with database_queries(app) as queries:
        await assert_inactive(client, gateway_headers, token)
    assert queries == []


async def test_well_formed_token_is_looked_up_once(
    app: FastAPI, client: httpx.AsyncClient, gateway_headers: dict[str, str]
) -> None:
    with database_queries(app) as queries:
        await assert_inactive(client, gateway_headers, token_format.generate())
    assert queries.count("token") == 1


async def test_revoke_is_seen_by_the_next_introspection(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
    issued: dict[str, Any],
) -> None:
    assert (await introspect(client, gateway_headers, issued["secret"])).json()["active"] is True
    token_id = issued["token"]["id"]
    response = await client.post(
        f"/api/v1/integrations/{integration['id']}/tokens/{token_id}/revoke", headers=admin_headers
    )
    assert response.status_code == 200
    await assert_inactive(client, gateway_headers, issued["secret"])


async def test_mass_revoke_is_seen_by_the_next_introspection(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
    issued: dict[str, Any],
) -> None:
    other = await issue_token(client, admin_headers, integration["id"])
    response = await client.post(
        f"/api/v1/integrations/{integration['id']}/tokens/revoke",
        json={"all": True},
        headers=admin_headers,
    )
    assert response.status_code == 200
    await assert_inactive(client, gateway_headers, issued["secret"])
    await assert_inactive(client, gateway_headers, other["secret"])


async def test_regenerate_kills_old_secret_and_new_one_works(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
    issued: dict[str, Any],
) -> None:
    response = await client.post(
        f"/api/v1/integrations/{integration['id']}/tokens/{issued['token']['id']}/regenerate",
        headers=admin_headers,
    )
    assert response.status_code == 201
    await assert_inactive(client, gateway_headers, issued["secret"])
    renewed = (await introspect(client, gateway_headers, response.json()["secret"])).json()
    assert renewed["active"] is True
    assert renewed["jti"] == response.json()["token"]["id"]


async def test_deactivating_integration_disables_tokens_and_reactivating_restores_them(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
    issued: dict[str, Any],
) -> None:
    url = f"/api/v1/integrations/{integration['id']}"
    revoked = await issue_token(client, admin_headers, integration["id"])
    await client.post(f"{url}/tokens/{revoked['token']['id']}/revoke", headers=admin_headers)

    assert (
        await client.patch(url, json={"active": False}, headers=admin_headers)
    ).status_code == 200
    await assert_inactive(client, gateway_headers, issued["secret"])

    assert (
        await client.patch(url, json={"active": True}, headers=admin_headers)
    ).status_code == 200
    assert (await introspect(client, gateway_headers, issued["secret"])).json()["active"] is True
    await assert_inactive(client, gateway_headers, revoked["secret"])


async def test_deleted_integration_tokens_are_inactive(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
    issued: dict[str, Any],
) -> None:
    url = f"/api/v1/integrations/{integration['id']}"
    assert (await client.delete(url, headers=admin_headers)).status_code == 204
    await assert_inactive(client, gateway_headers, issued["secret"])


async def test_expired_token_is_inactive(
    app: FastAPI, client: httpx.AsyncClient, gateway_headers: dict[str, str], issued: dict[str, Any]
) -> None:
    async with state(app).engine.begin() as connection:
        await connection.execute(
            update(AccessToken)
            .where(AccessToken.id == uuid.UUID(issued["token"]["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await assert_inactive(client, gateway_headers, issued["secret"])


# --- the caller ------------------------------------------------------------------------


def _basic(raw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-credentials"),
        pytest.param(
            _basic(f"{uuid.uuid4()}:{token_format.generate('ssc_')}"), id="unknown-client"
        ),
        pytest.param(_basic("not-a-uuid:secret"), id="malformed-client-id"),
        pytest.param(_basic("no-colon"), id="no-separator"),
        pytest.param({"Authorization": "Basic %%%"}, id="bad-base64"),
        pytest.param({"Authorization": "Bearer " + token_format.generate()}, id="bearer"),
    ],
)
async def test_missing_or_wrong_client_credentials_are_refused(
    client: httpx.AsyncClient, issued: dict[str, Any], headers: dict[str, str]
) -> None:
    response = await introspect(client, headers, issued["secret"])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="introspection"'
    assert response.json() == {"error": "invalid_client"}


async def test_wrong_secret_for_a_real_client_is_refused(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], issued: dict[str, Any]
) -> None:
    client_id = base64.b64decode(gateway_headers["Authorization"][6:]).decode().split(":")[0]
    response = await introspect(
        client, _basic(f"{client_id}:{token_format.generate('ssc_')}"), issued["secret"]
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


async def test_admin_session_cannot_introspect(
    client: httpx.AsyncClient, admin_headers: dict[str, str], issued: dict[str, Any]
) -> None:
    response = await introspect(client, admin_headers, issued["secret"])
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


async def test_client_credentials_cannot_call_the_management_api(
    client: httpx.AsyncClient, gateway_headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/integrations", headers=gateway_headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"token": ""}, id="empty-token"),
        pytest.param({"token_type_hint": "access_token"}, id="hint-only"),
    ],
)
async def test_request_without_token_is_invalid_request(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], body: dict[str, str]
) -> None:
    response = await client.post(INTROSPECT, data=body, headers=gateway_headers)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request"}


async def test_repeated_token_parameter_is_invalid_request(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], issued: dict[str, Any]
) -> None:
    body = f"token={issued['secret']}&token={token_format.generate()}"
    headers = {**gateway_headers, "Content-Type": "application/x-www-form-urlencoded"}
    response = await client.post(INTROSPECT, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request"}


async def test_get_is_refused_so_tokens_never_travel_in_urls(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], issued: dict[str, Any]
) -> None:
    response = await client.get(
        INTROSPECT, params={"token": issued["secret"]}, headers=gateway_headers
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


# --- last_used_at ------------------------------------------------------------------------


async def _last_used_at(app: FastAPI, token_id: str) -> datetime | None:
    async with state(app).engine.connect() as connection:
        statement = select(AccessToken.last_used_at).where(AccessToken.id == uuid.UUID(token_id))
        return (await connection.execute(statement)).scalar_one()  # type: ignore[no-any-return]


async def test_last_used_at_is_batched_not_written_per_request(
    app: FastAPI, client: httpx.AsyncClient, gateway_headers: dict[str, str], issued: dict[str, Any]
) -> None:
    recorder = state(app).introspection.last_used
    real_write = recorder._write
    writes: list[int] = []

    async def counting_write(uses: dict[uuid.UUID, datetime]) -> None:
        writes.append(len(uses))
        await real_write(uses)

    recorder._write = counting_write
    try:
        for _ in range(5):
            assert (await introspect(client, gateway_headers, issued["secret"])).json()["active"]
        await recorder.flush()
    finally:
        recorder._write = real_write
    # One batched write at most (the periodic flush may have taken it), never one per request.
    assert writes == [1]
    assert await _last_used_at(app, issued["token"]["id"]) is not None


async def test_last_used_at_is_written_at_most_once_per_interval(
    app: FastAPI, client: httpx.AsyncClient, gateway_headers: dict[str, str], issued: dict[str, Any]
) -> None:
    await introspect(client, gateway_headers, issued["secret"])
    await state(app).introspection.last_used.flush()
    assert await _last_used_at(app, issued["token"]["id"]) is not None
    await introspect(client, gateway_headers, issued["secret"])
    assert state(app).introspection.last_used.pending_count == 0
    assert await state(app).introspection.last_used.flush() == 0


async def test_last_used_at_is_shown_on_the_token(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    issued: dict[str, Any],
) -> None:
    await introspect(client, gateway_headers, issued["secret"])
    await state(app).introspection.last_used.flush()
    token = issued["token"]
    response = await client.get(
        f"/api/v1/integrations/{token['integration_id']}/tokens/{token['id']}",
        headers=admin_headers,
    )
    assert response.json()["last_used_at"] is not None


async def test_inactive_introspection_does_not_touch_last_used_at(
    app: FastAPI, client: httpx.AsyncClient, gateway_headers: dict[str, str]
) -> None:
    await assert_inactive(client, gateway_headers, token_format.generate())
    assert state(app).introspection.last_used.pending_count == 0
