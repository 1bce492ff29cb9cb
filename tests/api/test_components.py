"""The three app factories serve what they should and nothing more."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.apps import create_introspection_app, create_management_app
from app.config import Settings
from app.tokens.models import AccessToken
from tests.fixtures.api import create_integration, issue_token, state


@asynccontextmanager
async def running(
    factory: Callable[[Settings], FastAPI], settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    application = factory(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.mark.parametrize(
    "path", ["/api/v1/integrations", "/api/v1/auth/me", "/docs", "/openapi.json"]
)
async def test_introspection_component_serves_no_management_routes_or_docs(
    settings: Settings, admin_headers: dict[str, str], path: str
) -> None:
    async with running(create_introspection_app, settings) as http:
        assert (await http.get(path, headers=admin_headers)).status_code == 404


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_every_component_serves_health(settings: Settings, path: str) -> None:
    for factory in (create_introspection_app, create_management_app):
        async with running(factory, settings) as http:
            assert (await http.get(path)).status_code == 200


async def test_management_component_does_not_serve_introspection(
    settings: Settings, gateway_headers: dict[str, str]
) -> None:
    async with running(create_management_app, settings) as http:
        response = await http.post(
            "/oauth2/introspect", data={"token": "x"}, headers=gateway_headers
        )
        assert response.status_code == 404


async def test_introspection_component_sends_no_cors_headers(settings: Settings) -> None:
    cors_settings = settings.model_copy(update={"cors_origins": ["https://admin.example"]})
    async with running(create_introspection_app, cors_settings) as http:
        response = await http.options(
            "/oauth2/introspect",
            headers={"Origin": "https://admin.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in response.headers


async def test_management_component_allows_configured_cors_origin_only(settings: Settings) -> None:
    cors_settings = settings.model_copy(update={"cors_origins": ["https://admin.example"]})
    async with running(create_management_app, cors_settings) as http:
        allowed = await http.get("/healthz", headers={"Origin": "https://admin.example"})
        other = await http.get("/healthz", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://admin.example"
    assert "access-control-allow-origin" not in other.headers


async def test_pending_last_used_at_is_flushed_on_shutdown(
    settings: Settings,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    app: FastAPI,
) -> None:
    integration = await create_integration(client, admin_headers)
    issued: dict[str, Any] = await issue_token(client, admin_headers, integration["id"])
    async with running(create_introspection_app, settings) as http:
        response = await http.post(
            "/oauth2/introspect", data={"token": issued["secret"]}, headers=gateway_headers
        )
        assert response.json()["active"] is True
    async with state(app).engine.connect() as connection:
        statement = select(AccessToken.last_used_at).where(
            AccessToken.integration_id == uuid.UUID(integration["id"])
        )
        assert (await connection.execute(statement)).scalar_one() is not None
