from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from passlib.context import CryptContext
from sqlalchemy import select, update

from app import token_format
from app.auth.models import AdminSession, AdminUser, Role
from app.config import Settings
from app.db.base import utc_now
from tests.fixtures.api import (
    ADMIN_PASSWORD,
    basic_auth,
    create_user,
    login,
    state,
)

TOKEN_URL = "/api/v1/auth/token"
PASSWORD = "a-long-enough-password"


async def new_user(app: FastAPI, role: Role = Role.ADMIN) -> str:
    """A fresh user (the users table is not emptied between tests), password ``PASSWORD``."""
    username = f"user-{uuid.uuid4().hex[:12]}"
    await create_user(app, username, role, PASSWORD)
    return username


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401
    assert body["title"] == "Not authenticated"


async def audit_events(
    client: httpx.AsyncClient, headers: dict[str, str], action: str
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit-events", params={"action": action}, headers=headers)
    assert response.status_code == 200
    return response.json()["items"]  # type: ignore[no-any-return]


async def test_login_returns_a_bearer_token_that_is_not_cached(
    client: httpx.AsyncClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    response = await client.post(TOKEN_URL, data={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.session_ttl_seconds
    assert token_format.is_well_formed(body["access_token"], token_format.SESSION_TOKEN_PREFIX)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json() == {"username": "admin", "role": "admin"}


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "wrong-password-123"), ("nobody-by-that-name", "wrong-password-123")],
    ids=["wrong-password", "unknown-user"],
)
async def test_wrong_credentials_are_401_and_audited(
    client: httpx.AsyncClient, admin_headers: dict[str, str], username: str, password: str
) -> None:
    response = await client.post(TOKEN_URL, data={"username": username, "password": password})
    assert_unauthorized(response)
    assert "access_token" not in response.text
    events = await audit_events(client, admin_headers, "auth.login_failed")
    assert len(events) == 1
    details = events[0]["details"]
    if username == "admin":
        assert details["username"] == "admin"
    else:  # what was typed is never stored: it may be a password in the wrong field
        assert details["username_known"] is False
        assert "username" not in details
        assert username not in str(events[0])
    assert password not in str(events[0])


async def test_login_with_json_body_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN_URL, json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "form", [{}, {"username": "admin"}, {"password": ADMIN_PASSWORD}, {"username": ""}]
)
async def test_login_with_missing_fields_is_422(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await client.post(TOKEN_URL, data=form)
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    assert body["errors"]
    assert ADMIN_PASSWORD not in response.text


async def test_username_is_case_insensitive(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    headers = await login(app, "  ADMIN ", ADMIN_PASSWORD)
    response = await client.get("/api/v1/auth/me", headers=headers)
    assert response.json() == {"username": "admin", "role": "admin"}


async def test_password_is_case_sensitive(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        TOKEN_URL, data={"username": "admin", "password": ADMIN_PASSWORD.upper()}
    )
    assert_unauthorized(response)


async def test_me_for_admin(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/auth/me", headers=admin_headers)
    assert response.status_code == 200
    assert response.json() == {"username": "admin", "role": "admin"}


async def test_me_for_viewer(client: httpx.AsyncClient, viewer_headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/auth/me", headers=viewer_headers)
    assert response.status_code == 200
    assert response.json() == {"username": "viewer", "role": "viewer"}


async def test_me_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.get("/api/v1/auth/me"))


async def test_logout_ends_the_session(app: FastAPI, client: httpx.AsyncClient) -> None:
    headers = await login(app, await new_user(app), PASSWORD)
    response = await client.post("/api/v1/auth/logout", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_unauthorized(await client.get("/api/v1/auth/me", headers=headers))
    assert_unauthorized(await client.post("/api/v1/auth/logout", headers=headers))


async def test_logout_leaves_other_sessions_of_the_user_alone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    username = await new_user(app)
    first = await login(app, username, PASSWORD)
    second = await login(app, username, PASSWORD)
    assert (await client.post("/api/v1/auth/logout", headers=first)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=second)).status_code == 200


async def test_logout_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.post("/api/v1/auth/logout"))


async def test_expired_session_is_401(app: FastAPI, client: httpx.AsyncClient) -> None:
    headers = await login(app, await new_user(app), PASSWORD)
    secret = headers["Authorization"].removeprefix("Bearer ")
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    async with state(app).engine.begin() as connection:
        await connection.execute(
            update(AdminSession)
            .where(AdminSession.token_digest == token_format.digest(secret))
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )
    response = await client.get("/api/v1/auth/me", headers=headers)
    assert_unauthorized(response)
    assert "expired" in response.json()["detail"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer garbage",
        "Bearer " + token_format.generate(token_format.SESSION_TOKEN_PREFIX),
        "Bearer " + token_format.generate(token_format.ACCESS_TOKEN_PREFIX),
        "Bearer " + "x" * 10_000,
        "Bearer ",
        "Token abc",
    ],
    ids=["garbage", "unknown-session", "access-token", "over-long", "empty", "other-scheme"],
)
async def test_bad_bearer_is_401(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.get("/api/v1/auth/me", headers={"Authorization": authorization})
    assert_unauthorized(response)


async def test_introspection_client_basic_credentials_do_not_open_management_routes(
    client: httpx.AsyncClient, gateway_headers: dict[str, str]
) -> None:
    for path in ("/api/v1/auth/me", "/api/v1/integrations", "/api/v1/introspection-clients"):
        assert_unauthorized(await client.get(path, headers=gateway_headers))


async def test_basic_auth_with_admin_password_is_401(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/auth/me", headers=basic_auth("admin", ADMIN_PASSWORD))
    assert_unauthorized(response)


async def test_login_rehashes_password_with_outdated_parameters(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    username = await new_user(app)
    weak = CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__memory_cost=8 * 1024,
        argon2__time_cost=1,
        argon2__parallelism=1,
    )
    old_hash = weak.hash(PASSWORD)
    async with state(app).engine.begin() as connection:
        await connection.execute(
            update(AdminUser).where(AdminUser.username == username).values(password_hash=old_hash)
        )

    headers = await login(app, username, PASSWORD)

    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    async with state(app).engine.connect() as connection:
        new_hash = (
            await connection.execute(
                select(AdminUser.password_hash).where(AdminUser.username == username)
            )
        ).scalar_one()
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in new_hash
    await login(app, username, PASSWORD)


async def test_password_hash_is_argon2id(app: FastAPI) -> None:
    username = await new_user(app, Role.VIEWER)
    async with state(app).engine.connect() as connection:
        stored = (
            await connection.execute(
                select(AdminUser.password_hash).where(AdminUser.username == username)
            )
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
