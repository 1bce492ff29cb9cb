"""No plaintext secret is ever written to the database or to a log line.

Only SHA-256 digests of tokens, client secrets and session tokens, and Argon2id hashes of
passwords may be stored; the digests are expected in the tables, the plaintext never.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.auth.models import Role
from app.db.models import Base
from tests.fixtures.api import (
    ADMIN_PASSWORD,
    VIEWER_PASSWORD,
    basic_auth,
    create_integration,
    create_user,
    issue_token,
    login,
    state,
)

PASSWORD = "hygiene-password-for-tests"


async def dump_tables(app: FastAPI) -> str:
    """Every row of every table as text, with binary values also shown as hex."""
    parts: list[str] = []
    async with state(app).engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in (await connection.execute(select(table))).all():
                for value in row:
                    parts.append(repr(value))
                    if isinstance(value, bytes):
                        parts.append(value.hex())
    return "\n".join(parts)


def forms_of(secret: str) -> list[str]:
    """The plaintext, its part after the prefix, and their hex encodings."""
    body = secret.split("_", 1)[1] if secret.startswith("ss") else secret
    forms = [secret, body]
    return forms + [form.encode().hex() for form in forms]


async def test_no_plaintext_secret_in_tables_or_logs(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    viewer_headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    username = f"hygiene-{uuid.uuid4().hex[:12]}"
    await create_user(app, username, Role.ADMIN, PASSWORD)
    headers = await login(app, username, PASSWORD)
    failed = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": "not-" + PASSWORD}
    )
    assert failed.status_code == 401

    integration = await create_integration(client, headers)
    tokens_url = f"/api/v1/integrations/{integration['id']}/tokens"
    first = await issue_token(client, headers, integration["id"], name="first")
    second = await issue_token(client, headers, integration["id"], name="second")
    third = await issue_token(client, headers, integration["id"], name="third")
    regenerated = await client.post(
        f"{tokens_url}/{first['token']['id']}/regenerate", headers=headers
    )
    assert regenerated.status_code == 201
    revoked = await client.post(f"{tokens_url}/{second['token']['id']}/revoke", headers=headers)
    assert revoked.status_code == 200
    mass = await client.post(f"{tokens_url}/revoke", json={"all": True}, headers=headers)
    assert mass.status_code == 200

    created = await client.post(
        "/api/v1/introspection-clients", json={"name": "gateway"}, headers=headers
    )
    assert created.status_code == 201
    gateway = created.json()
    gateway_auth = basic_auth(gateway["client_id"], gateway["client_secret"])
    fresh = await issue_token(client, headers, integration["id"], name="fresh")
    for token in (fresh["secret"], first["secret"], third["secret"], "ssg_garbage"):
        response = await client.post(
            "/oauth2/introspect", data={"token": token}, headers=gateway_auth
        )
        assert response.status_code == 200
    assert response.json() == {"active": False}
    secret = gateway["client_secret"]
    wrong_secret = secret[:-1] + ("y" if secret.endswith("x") else "x")
    wrong_client = await client.post(
        "/oauth2/introspect",
        data={"token": fresh["secret"]},
        headers=basic_auth(gateway["client_id"], wrong_secret),
    )
    assert wrong_client.status_code == 401
    await state(app).introspection.last_used.flush()
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204

    secrets = [
        first["secret"],
        second["secret"],
        third["secret"],
        fresh["secret"],
        regenerated.json()["secret"],
        gateway["client_secret"],
        headers["Authorization"].removeprefix("Bearer "),
        admin_headers["Authorization"].removeprefix("Bearer "),
        viewer_headers["Authorization"].removeprefix("Bearer "),
        PASSWORD,
        "not-" + PASSWORD,
        ADMIN_PASSWORD,
        VIEWER_PASSWORD,
    ]
    tables = await dump_tables(app)
    assert "access_tokens" in {t.name for t in Base.metadata.sorted_tables}
    # SQL statements and their parameters were logged, so a leak would have shown.
    assert fresh["token"]["hint"] in caplog.text
    for secret in secrets:
        for form in forms_of(secret):
            assert form not in tables, f"a secret is stored in plaintext: {secret[:8]}…"
            assert form not in caplog.text, f"a secret reached the logs: {secret[:8]}…"


async def test_stored_digests_are_present(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Guards the test above: the dump does see what is stored."""
    integration = await create_integration(client, admin_headers)
    issued = await issue_token(client, admin_headers, integration["id"])
    expected = hashlib.sha256(issued["secret"].encode()).digest()
    tables = await dump_tables(app)
    assert expected.hex() in tables
    assert issued["token"]["hint"] in tables
