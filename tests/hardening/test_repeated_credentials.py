"""A request that repeats a credentials header is refused on every path, never served.

Proxies and frameworks disagree on which copy of a repeated header counts (nginx forwards
both; Starlette reads the first; some read the last), so a gateway could check one token
while its upstream acts on the other.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.api import create_integration, issue_token

API = "/api/v1"


def twice(name: str, first: str, second: str, **others: str) -> list[tuple[str, str]]:
    return [(name, first), (name, second), *others.items()]


@pytest.fixture
async def active_secret(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> str:
    integration = await create_integration(client, admin_headers)
    issued: dict[str, Any] = await issue_token(client, admin_headers, integration["id"])
    return str(issued["secret"])


async def test_introspection_with_two_authorization_headers_is_invalid_request(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], active_secret: str
) -> None:
    basic = gateway_headers["Authorization"]
    for headers in (twice("Authorization", basic, basic), twice("Authorization", basic, "x")):
        response = await client.post(
            "/oauth2/introspect", data={"token": active_secret}, headers=headers
        )
        assert response.status_code == 400
        assert response.json() == {"error": "invalid_request"}


async def test_forward_auth_with_two_bearers_is_refused_whichever_comes_first(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], active_secret: str
) -> None:
    gateway = gateway_headers["Authorization"]
    good, junk = f"Bearer {active_secret}", "Bearer ssg_junk"
    for first, second in ((good, junk), (junk, good), (good, good)):
        headers = twice("Authorization", first, second, **{"X-Gateway-Authorization": gateway})
        response = await client.get("/oauth2/forward-auth", headers=headers)
        assert response.status_code == 401
        assert "x-integration-id" not in response.headers


async def test_forward_auth_with_two_gateway_credentials_is_forbidden(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], active_secret: str
) -> None:
    gateway = gateway_headers["Authorization"]
    headers = twice(
        "X-Gateway-Authorization", gateway, gateway, Authorization=f"Bearer {active_secret}"
    )
    response = await client.get("/oauth2/forward-auth", headers=headers)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{API}/auth/me"),
        ("GET", f"{API}/integrations"),
        ("POST", f"{API}/integrations"),
        ("GET", "/healthz"),
    ],
)
async def test_management_with_two_authorization_headers_is_a_400_problem(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    viewer_headers: dict[str, str],
    method: str,
    path: str,
) -> None:
    headers = twice(
        "Authorization", admin_headers["Authorization"], viewer_headers["Authorization"]
    )
    response = await client.request(method, path, headers=headers, json={"name": "x"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Bad request"
