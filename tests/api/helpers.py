"""Helpers shared by the integration and token API tests."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from app.db.base import utc_now
from app.tokens.models import AccessToken
from tests.fixtures.api import state

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

SECRET_PATTERN = re.compile(r"ssg_[0-9A-Za-z]{38}")
HINT_PATTERN = re.compile(r"ssg_[0-9A-Za-z]{4}…[0-9A-Za-z]{4}")
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")

INTEGRATION_FIELDS = {
    "id",
    "name",
    "description",
    "notification_email",
    "active",
    "created_at",
    "updated_at",
    "token_counts",
}
TOKEN_FIELDS = {
    "id",
    "integration_id",
    "name",
    "hint",
    "expiration_policy",
    "expires_at",
    "created_at",
    "last_used_at",
    "revoked_at",
    "revocation_reason",
    "replaced_by",
    "status",
}


def integration_url(integration_id: str) -> str:
    return f"{API}/integrations/{integration_id}"


def tokens_url(integration_id: str, suffix: str = "") -> str:
    return f"{API}/integrations/{integration_id}/tokens{suffix}"


def timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp, insisting on an explicit UTC offset."""
    assert RFC3339_UTC.fullmatch(value), value
    return datetime.fromisoformat(value)


def forbid_server_errors(client: httpx.AsyncClient) -> None:
    """Make every 5xx the client receives fail the test on the spot."""

    async def check(response: httpx.Response) -> None:
        assert response.status_code < 500, (response.request.url, response.status_code)

    client.event_hooks["response"].append(check)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem with ``status``, and nothing leaked in it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    for leak in ("Traceback", "SELECT ", "INSERT ", "UPDATE ", "sqlalchemy"):
        assert leak not in response.text
    if status == 422:
        assert body["errors"], body
        assert all({"loc", "msg"} <= error.keys() for error in body["errors"])
    return body


def assert_unauthenticated(response: httpx.Response) -> None:
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].lower().startswith("bearer")


def assert_no_store(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


def assert_issued(body: dict[str, Any], *, integration_id: str) -> dict[str, Any]:
    """Check an issue/regenerate body; returns its token object."""
    assert body.keys() == {"token", "secret"}
    secret, token = body["secret"], body["token"]
    assert SECRET_PATTERN.fullmatch(secret)
    assert len(secret) == 42
    assert_token_shape(token)
    assert token["integration_id"] == integration_id
    assert token["hint"] == f"{secret[:8]}…{secret[-4:]}"
    assert token["status"] == "active"
    assert token["revoked_at"] is None
    assert token["revocation_reason"] is None
    assert token["replaced_by"] is None
    assert token["last_used_at"] is None
    return token  # type: ignore[no-any-return]


def assert_token_shape(token: dict[str, Any]) -> None:
    assert token.keys() == TOKEN_FIELDS
    assert HINT_PATTERN.fullmatch(token["hint"])
    timestamp(token["created_at"])
    for field in ("expires_at", "revoked_at", "last_used_at"):
        if token[field] is not None:
            timestamp(token[field])


def lifetime(token: dict[str, Any]) -> timedelta:
    return timestamp(token["expires_at"]) - timestamp(token["created_at"])


async def expire_token(app: FastAPI, token_id: str) -> None:
    """Move a token's expiry into the past, straight in the database."""
    async with state(app).engine.begin() as connection:
        await connection.execute(
            update(AccessToken)
            .where(AccessToken.id == uuid.UUID(token_id))
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )


async def stored_tokens(app: FastAPI, integration_id: str) -> Sequence[AccessToken]:
    """The rows of an integration's tokens, including those the API no longer shows."""
    async with state(app).sessionmaker() as session:
        result = await session.execute(
            select(AccessToken)
            .where(AccessToken.integration_id == uuid.UUID(integration_id))
            .order_by(AccessToken.created_at)
        )
        return result.scalars().all()


async def audit_actions(
    client: httpx.AsyncClient, headers: dict[str, str], integration_id: str
) -> list[str]:
    """The integration's audit actions, oldest first."""
    response = await client.get(
        f"{API}/audit-events",
        params={"integration_id": integration_id, "limit": 500},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return [event["action"] for event in reversed(response.json()["items"])]


async def snapshot(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """Everything the management API shows, to prove that a refused request changed nothing."""
    listed = await client.get(f"{API}/integrations", params={"limit": 500}, headers=headers)
    integrations = listed.json()["items"]
    tokens = {}
    for integration in integrations:
        response = await client.get(
            tokens_url(integration["id"]), params={"limit": 500}, headers=headers
        )
        tokens[integration["id"]] = response.json()["items"]
    audit = await client.get(f"{API}/audit-events", params={"limit": 1}, headers=headers)
    return {"integrations": integrations, "tokens": tokens, "audit": audit.json()["total"]}
