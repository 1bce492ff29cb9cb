"""Shared fixtures: one migrated database and one running app per test run.

Tests drive the app over HTTP through ``httpx.ASGITransport``; each test starts from
empty domain tables (admin users and their sessions are created once per run).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.apps import create_app
from app.auth.models import Role
from app.auth.service import auth_service
from app.auth.throttle import login_throttle
from app.config import Settings
from app.db.session import begin_write
from app.introspection.clients import introspection_client_service
from tests.fixtures.database import (
    PER_TEST_TABLES,
    backend,
    clear_tables,
    throwaway_database,
    upgrade,
)

ADMIN_PASSWORD = "admin-password-for-tests"
VIEWER_PASSWORD = "viewer-password-for-tests"


def pytest_report_header() -> str:
    return f"database backend: {backend()}"


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async for url in throwaway_database(Path(tmp_path_factory.mktemp("db"))):
        await upgrade(url)
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        issuer="https://integrations.test",
        last_used_flush_seconds=60,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await wait_until_cache_is_trusted(application)
        yield application


async def wait_until_cache_is_trusted(application: FastAPI) -> None:
    """On PostgreSQL the cache is trusted once the invalidation listener is connected."""
    listener = application.state.invalidation_listener
    if listener is not None:
        await asyncio.wait_for(listener.connected.wait(), timeout=10)


@pytest.fixture(autouse=True)
async def _clean_tables(app: FastAPI) -> None:
    await app.state.last_used.flush()  # uses recorded by the previous test
    await clear_tables(app.state.engine, PER_TEST_TABLES)
    app.state.introspection_cache.clear()  # TRUNCATE announces nothing
    login_throttle(app).clear()  # failed logins of earlier tests (one client address)
    app.state.introspector.throttle.clear()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _create_user(app: FastAPI, username: str, role: Role, password: str) -> None:
    async with app.state.sessionmaker() as session:
        await begin_write(session)
        await auth_service.create_admin(
            session, username=username, role=role, password=password, actor="test"
        )
        await session.commit()


async def login(app: FastAPI, username: str, password: str) -> dict[str, str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
async def admin_headers(app: FastAPI) -> dict[str, str]:
    await _create_user(app, "admin", Role.ADMIN, ADMIN_PASSWORD)
    return await login(app, "admin", ADMIN_PASSWORD)


@pytest.fixture(scope="session")
async def viewer_headers(app: FastAPI) -> dict[str, str]:
    await _create_user(app, "viewer", Role.VIEWER, VIEWER_PASSWORD)
    return await login(app, "viewer", VIEWER_PASSWORD)


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


@pytest.fixture
async def gateway_headers(app: FastAPI) -> dict[str, str]:
    """HTTP Basic credentials of a fresh introspection client."""
    async with app.state.sessionmaker() as session:
        await begin_write(session)
        created = await introspection_client_service.create(session, name="gateway", actor="test")
        await session.commit()
    return basic_auth(str(created.client.id), created.secret)


async def create_integration(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"name": "Billing bot", "notification_email": "ops@example.com", **fields}
    response = await client.post("/api/v1/integrations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def issue_token(
    client: httpx.AsyncClient, headers: dict[str, str], integration_id: str, **fields: Any
) -> dict[str, Any]:
    """``{"token": {...}, "secret": "ssg_..."}``"""
    body = {"name": "ci", "expiration_policy": "30d", **fields}
    response = await client.post(
        f"/api/v1/integrations/{integration_id}/tokens", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]
