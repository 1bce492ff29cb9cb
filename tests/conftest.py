"""Shared fixtures: one migrated database and one running app per test run.

Tests drive the app over HTTP through ``httpx.ASGITransport``; each test starts from
empty domain tables (admin users and their sessions are created once per run). Helpers
that act as a client live in ``tests/fixtures/api.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.apps import create_app
from app.auth.models import Role
from app.config import Settings
from tests.fixtures.api import (
    ADMIN_PASSWORD,
    VIEWER_PASSWORD,
    create_gateway,
    create_user,
    login,
    state,
    wait_until_cache_is_trusted,
)
from tests.fixtures.database import (
    PER_TEST_TABLES,
    backend,
    clear_tables,
    throwaway_database,
    upgrade,
)


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


@pytest.fixture(autouse=True)
async def _clean_tables(app: FastAPI) -> None:
    running = state(app)
    await running.introspection.last_used.flush()  # uses recorded by the previous test
    await clear_tables(running.engine, PER_TEST_TABLES)
    running.introspection.cache.clear()  # TRUNCATE announces nothing
    running.login_throttle.clear()  # failed logins of earlier tests (one client address)
    running.introspection.introspector.throttle.clear()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="session")
async def admin_headers(app: FastAPI) -> dict[str, str]:
    await create_user(app, "admin", Role.ADMIN, ADMIN_PASSWORD)
    return await login(app, "admin", ADMIN_PASSWORD)


@pytest.fixture(scope="session")
async def viewer_headers(app: FastAPI) -> dict[str, str]:
    await create_user(app, "viewer", Role.VIEWER, VIEWER_PASSWORD)
    return await login(app, "viewer", VIEWER_PASSWORD)


@pytest.fixture
async def gateway_headers(app: FastAPI) -> dict[str, str]:
    """HTTP Basic credentials of a fresh introspection client."""
    return await create_gateway(app)
