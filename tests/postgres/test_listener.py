"""Fail closed: without its invalidation feed the cache is bypassed, then starts afresh."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from app import token_format
from app.tokens.models import AccessToken
from tests.fixtures.api import create_integration, issue_token, state
from tests.fixtures.database import backend

pytestmark = pytest.mark.skipif(backend() != "postgres", reason="LISTEN/NOTIFY is PostgreSQL's")


async def _eventually(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def _revoke_behind_the_services_back(app: FastAPI, token_id: str) -> None:
    """A change no NOTIFY announces: only a cache that is bypassed can see it."""
    async with state(app).engine.begin() as connection:
        await connection.execute(
            update(AccessToken)
            .where(AccessToken.id == uuid.UUID(token_id))
            .values(revoked_at=func.now(), revocation_reason="revoked")
        )


async def test_killed_listener_makes_introspection_bypass_the_cache_until_it_reconnects(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> None:
    listener, cache = state(app).introspection.listener, state(app).introspection.cache
    integration = await create_integration(client, admin_headers)
    first = await issue_token(client, admin_headers, integration["id"])
    second = await issue_token(client, admin_headers, integration["id"])
    for issued in (first, second):
        response = await client.post(
            "/oauth2/introspect", data={"token": issued["secret"]}, headers=gateway_headers
        )
        assert response.json()["active"] is True
    assert len(cache) == 2

    old_backend = listener.backend_pid
    async with state(app).engine.connect() as connection:
        await connection.execute(select(func.pg_terminate_backend(old_backend)))
    await _eventually(lambda: not cache.trusted)

    await _revoke_behind_the_services_back(app, first["token"]["id"])
    response = await client.post(
        "/oauth2/introspect", data={"token": first["secret"]}, headers=gateway_headers
    )
    assert response.json() == {"active": False}, "answered from a cache it cannot trust"

    await _eventually(lambda: cache.trusted and listener.backend_pid not in (None, old_backend))
    await _revoke_behind_the_services_back(app, second["token"]["id"])
    response = await client.post(
        "/oauth2/introspect", data={"token": second["secret"]}, headers=gateway_headers
    )
    assert response.json() == {"active": False}, "kept entries from before the gap"


async def test_listener_hears_changes_committed_by_another_process(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> None:
    integration = await create_integration(client, admin_headers)
    issued = await issue_token(client, admin_headers, integration["id"])
    await client.post(
        "/oauth2/introspect", data={"token": issued["secret"]}, headers=gateway_headers
    )
    cache = state(app).introspection.cache
    assert cache.get_token(token_format.digest(issued["secret"])) is not None
    generation = cache.generation
    async with state(app).engine.begin() as connection:  # what another replica's commit sends
        await connection.execute(
            select(func.pg_notify("gi_introspection_invalidate", f"i:{integration['id']}"))
        )
    await _eventually(lambda: cache.generation > generation)
    assert cache.get_token(token_format.digest(issued["secret"])) is None
