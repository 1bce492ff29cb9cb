"""A secret typed into the wrong field is never stored, in any letter case.

A failed login used to record the attempted username (case-folded) in the audit trail,
which viewers read; CRC32 being linear, the lost case of a pasted token could be solved.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.fixtures.api import create_integration, issue_token, state

TOKEN_URL = "/api/v1/auth/token"


async def stored_text(app: FastAPI) -> str:
    """Every text column of every domain table, as one string."""
    chunks = []
    async with state(app).engine.connect() as connection:
        for table in ("audit_events", "integrations", "access_tokens", "introspection_clients"):
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
            chunks.extend(str(row) for row in rows)
    return "\n".join(chunks).casefold()


@pytest.mark.parametrize("case", [str, str.upper, str.lower])
async def test_a_token_typed_as_the_username_is_never_stored(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], case: Any
) -> None:
    integration = await create_integration(client, admin_headers)
    secret = (await issue_token(client, admin_headers, integration["id"]))["secret"]
    for username, password in ((case(secret), "whatever-password"), ("admin", case(secret))):
        response = await client.post(TOKEN_URL, data={"username": username, "password": password})
        assert response.status_code == 401
    assert secret.casefold() not in await stored_text(app)
    assert secret[4:20].casefold() not in await stored_text(app)


async def test_a_secret_pasted_into_a_name_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    integration = await create_integration(client, admin_headers)
    secret = (await issue_token(client, admin_headers, integration["id"]))["secret"]
    for body in (
        {"name": f"bot {secret.upper()}", "notification_email": "ops@example.com"},
        {"name": "bot", "description": secret, "notification_email": "ops@example.com"},
    ):
        response = await client.post("/api/v1/integrations", json=body, headers=admin_headers)
        assert response.status_code == 422
        assert secret not in response.text
    tokens_url = f"/api/v1/integrations/{integration['id']}/tokens"
    response = await client.post(
        tokens_url, json={"name": secret, "expiration_policy": "7d"}, headers=admin_headers
    )
    assert response.status_code == 422
