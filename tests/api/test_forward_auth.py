"""/oauth2/forward-auth, as nginx auth_request, Traefik forwardAuth or Envoy ext_authz call it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from app import token_format
from tests.fixtures.api import create_integration, issue_token

PATH = "/oauth2/forward-auth"


@pytest.fixture
async def integration(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    return await create_integration(client, admin_headers)


def headers_for(gateway_headers: dict[str, str], secret: str | None) -> dict[str, str]:
    headers = {"X-Gateway-Authorization": gateway_headers["Authorization"]}
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return headers


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
async def test_active_token_passes_with_identity_headers_for_any_method(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
    method: str,
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"], expiration_policy="7d")
    response = await client.request(
        method, PATH, headers=headers_for(gateway_headers, issued["secret"])
    )
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["x-integration-id"] == integration["id"]
    assert response.headers["x-token-id"] == issued["token"]["id"]
    assert response.headers["x-merchant-scope"] == "all"
    expires = datetime.fromisoformat(response.headers["x-token-expires-at"])
    assert expires == datetime.fromisoformat(issued["token"]["expires_at"]).replace(microsecond=0)
    assert response.headers["x-token-expires-at"].endswith("Z")


async def test_token_that_never_expires_has_no_expiry_header(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"], expiration_policy="never")
    response = await client.get(PATH, headers=headers_for(gateway_headers, issued["secret"]))
    assert response.status_code == 200
    assert "x-token-expires-at" not in response.headers


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-authorization"),
        pytest.param("Bearer ", id="empty-bearer"),
        pytest.param("Bearer not-a-token", id="malformed"),
        pytest.param(f"Bearer {token_format.generate()}", id="unknown"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic-instead-of-bearer"),
    ],
)
async def test_missing_or_unknown_bearer_is_401_invalid_token(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], authorization: str | None
) -> None:
    headers = {"X-Gateway-Authorization": gateway_headers["Authorization"]}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await client.get(PATH, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "x-integration-id" not in response.headers


async def test_revoked_token_is_refused_at_once(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"])
    headers = headers_for(gateway_headers, issued["secret"])
    assert (await client.get(PATH, headers=headers)).status_code == 200
    revoke = f"/api/v1/integrations/{integration['id']}/tokens/{issued['token']['id']}/revoke"
    assert (await client.post(revoke, headers=admin_headers)).status_code == 200
    assert (await client.get(PATH, headers=headers)).status_code == 401


async def test_deactivated_integration_is_refused(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    integration: dict[str, Any],
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"])
    url = f"/api/v1/integrations/{integration['id']}"
    await client.patch(url, json={"active": False}, headers=admin_headers)
    response = await client.get(PATH, headers=headers_for(gateway_headers, issued["secret"]))
    assert response.status_code == 401


@pytest.mark.parametrize(
    "gateway",
    [
        pytest.param(None, id="missing"),
        pytest.param("Basic bm9wZTpub3Bl", id="wrong"),
        pytest.param("garbage", id="garbage"),
    ],
)
async def test_missing_or_wrong_gateway_credentials_are_403_with_empty_body(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    integration: dict[str, Any],
    gateway: str | None,
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"])
    headers = {"Authorization": f"Bearer {issued['secret']}"}
    if gateway is not None:
        headers["X-Gateway-Authorization"] = gateway
    response = await client.get(PATH, headers=headers)
    assert response.status_code == 403
    assert response.content == b""


async def test_admin_session_is_not_a_gateway_credential(
    client: httpx.AsyncClient, admin_headers: dict[str, str], integration: dict[str, Any]
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"])
    headers = {
        "Authorization": f"Bearer {issued['secret']}",
        "X-Gateway-Authorization": admin_headers["Authorization"],
    }
    assert (await client.get(PATH, headers=headers)).status_code == 403
