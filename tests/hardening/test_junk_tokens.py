"""Valid-looking junk costs one database lookup, not one per request.

CRC32 is public, so anyone can make strings that pass the checksum; an unknown digest is
remembered (bounded, for the cache's TTL) so that sending the same one again is free.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import token_format
from tests.fixtures.api import create_integration, introspect, issue_token, settle_cache, state


@pytest.fixture
def lookups(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every digest the introspection store is asked for."""
    store = state(app).introspection.store
    asked: list[bytes] = []
    real = store.find_token

    async def counting(digest: bytes) -> Any:
        asked.append(digest)
        return await real(digest)

    monkeypatch.setattr(store, "find_token", counting)
    return asked


async def test_the_same_junk_two_hundred_times_costs_one_lookup(
    app: FastAPI,
    client: httpx.AsyncClient,
    gateway_headers: dict[str, str],
    lookups: list[bytes],
) -> None:
    await settle_cache(app)  # the setup's commits: no cache emptying pending
    junk = token_format.generate()  # well-formed, checksum right, never issued
    for _ in range(20):
        answers = await asyncio.gather(
            *(introspect(client, gateway_headers, junk) for _ in range(10))
        )
        assert all(a.json() == {"active": False} for a in answers)
    assert 1 <= len(lookups) <= 10  # the first concurrent burst may miss together


async def test_a_token_issued_after_junk_was_seen_is_active(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    lookups: list[bytes],
) -> None:
    for _ in range(3):
        junk = token_format.generate()
        assert (await introspect(client, gateway_headers, junk)).json() == {"active": False}
    integration = await create_integration(client, admin_headers)
    issued = await issue_token(client, admin_headers, integration["id"])
    assert (await introspect(client, gateway_headers, issued["secret"])).json()["active"] is True
