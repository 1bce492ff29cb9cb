"""The introspection cache in front of the database, through the API."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.apps import create_introspection_app
from app.config import Settings
from tests.api.test_introspection import database_queries
from tests.fixtures.api import (
    create_integration,
    issue_token,
    settle_cache,
    state,
    wait_until_cache_is_trusted,
)


async def test_repeat_introspection_is_answered_without_the_database(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> None:
    integration = await create_integration(client, admin_headers)
    issued = await issue_token(client, admin_headers, integration["id"])
    data = {"token": issued["secret"]}
    await settle_cache(app)  # the setup's commits: no cache emptying pending
    assert (await client.post("/oauth2/introspect", data=data, headers=gateway_headers)).json()[
        "active"
    ]
    with database_queries(app) as queries:
        response = await client.post("/oauth2/introspect", data=data, headers=gateway_headers)
    assert response.json()["active"] is True
    assert queries == []


async def test_cache_size_setting_bounds_the_cache(
    settings: Settings,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> None:
    integration = await create_integration(client, admin_headers)
    secrets = [
        (await issue_token(client, admin_headers, integration["id"]))["secret"] for _ in range(5)
    ]
    small = create_introspection_app(settings.model_copy(update={"introspection_cache_size": 2}))
    async with small.router.lifespan_context(small):
        await wait_until_cache_is_trusted(small)
        transport = httpx.ASGITransport(app=small)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            for secret in secrets:
                response = await http.post(
                    "/oauth2/introspect", data={"token": secret}, headers=gateway_headers
                )
                assert response.json()["active"] is True
                assert len(state(small).introspection.cache) <= 2
        assert len(state(small).introspection.cache) == 2
