"""OAuth interoperability: RFC 8414 discovery, client_secret_post, RFC 7009 self-revocation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.apps import create_introspection_app, create_management_app
from app.config import Settings
from tests.api.helpers import audit_actions
from tests.fixtures.api import create_integration, introspect, is_active, issue_token

WELL_KNOWN = "/.well-known/oauth-authorization-server"


@pytest.fixture
async def issued(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    integration = await create_integration(client, admin_headers)
    return await issue_token(client, admin_headers, integration["id"])


# --- discovery --------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [create_management_app, create_introspection_app])
async def test_both_components_serve_metadata_whose_issuer_is_the_iss_of_answers(
    settings: Settings, factory: Any
) -> None:
    component: FastAPI = factory(settings)
    async with component.router.lifespan_context(component):
        transport = httpx.ASGITransport(app=component)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get(WELL_KNOWN)
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == settings.issuer
    assert metadata["introspection_endpoint"] == f"{settings.issuer}/oauth2/introspect"
    assert metadata["revocation_endpoint"] == f"{settings.issuer}/oauth2/revoke"
    assert metadata["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]


async def test_the_issuer_in_metadata_is_the_iss_of_an_active_answer(
    client: httpx.AsyncClient, gateway_headers: dict[str, str], issued: dict[str, Any]
) -> None:
    metadata = (await client.get(WELL_KNOWN)).json()
    answer = (await introspect(client, gateway_headers, issued["secret"])).json()
    assert answer["iss"] == metadata["issuer"]


# --- client_secret_post -------------------------------------------------------------------


@pytest.fixture
async def credentials(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, str]:
    response = await client.post(
        "/api/v1/introspection-clients", json={"name": "openid-client"}, headers=admin_headers
    )
    body = response.json()
    return {"client_id": body["client_id"], "client_secret": body["client_secret"]}


async def test_client_secret_post_introspects_like_basic(
    client: httpx.AsyncClient, credentials: dict[str, str], issued: dict[str, Any]
) -> None:
    response = await client.post(
        "/oauth2/introspect", data={"token": issued["secret"], **credentials}
    )
    assert response.status_code == 200
    assert response.json()["active"] is True


async def test_client_secret_post_with_a_wrong_secret_is_invalid_client(
    client: httpx.AsyncClient, credentials: dict[str, str], issued: dict[str, Any]
) -> None:
    secret = credentials["client_secret"]
    wrong = secret[:-1] + ("y" if secret.endswith("x") else "x")
    for form in (
        {**credentials, "client_secret": wrong},
        {"client_id": credentials["client_id"]},
        {"client_secret": secret},
    ):
        response = await client.post("/oauth2/introspect", data={"token": issued["secret"], **form})
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_client"}


async def test_two_client_authentication_methods_in_one_request_are_refused(
    client: httpx.AsyncClient,
    credentials: dict[str, str],
    gateway_headers: dict[str, str],
    issued: dict[str, Any],
) -> None:
    response = await client.post(
        "/oauth2/introspect",
        data={"token": issued["secret"], **credentials},
        headers=gateway_headers,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request"}


# --- self-revocation ------------------------------------------------------------------------


async def test_a_token_revokes_itself(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    issued: dict[str, Any],
) -> None:
    secret = issued["secret"]
    response = await client.post(
        "/oauth2/revoke", data={"token": secret}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"
    assert await is_active(client, gateway_headers, secret) is False
    token_url = f"/api/v1/integrations/{issued['token']['integration_id']}/tokens/"
    token = (await client.get(token_url + issued["token"]["id"], headers=admin_headers)).json()
    assert token["status"] == "revoked"
    assert token["revocation_reason"] == "revoked"
    integration_url = f"/api/v1/integrations/{issued['token']['integration_id']}"
    counts = (await client.get(integration_url, headers=admin_headers)).json()["token_counts"]
    assert counts == {"active": 0, "expired": 0, "revoked": 1}
    events = (
        await client.get(
            "/api/v1/audit-events",
            params={"token_id": issued["token"]["id"], "action": "token.revoked"},
            headers=admin_headers,
        )
    ).json()["items"]
    assert [e["actor"] for e in events] == [f"integration:{issued['token']['integration_id']}"]
    # Again: nothing left to do, and not an error (RFC 7009).
    again = await client.post(
        "/oauth2/revoke", data={"token": secret}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert again.status_code == 200


async def test_a_token_cannot_revoke_another_and_strangers_cannot_revoke_at_all(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
    issued: dict[str, Any],
) -> None:
    other = await issue_token(
        client, admin_headers, issued["token"]["integration_id"], name="other"
    )
    cases = [
        ({"Authorization": f"Bearer {other['secret']}"}, {"token": issued["secret"]}, 400),
        ({"Authorization": f"Bearer {issued['secret']}"}, {}, 400),
        ({}, {"token": issued["secret"]}, 401),
        ({"Authorization": "Bearer ssg_nope"}, {"token": "ssg_nope"}, 401),
        (admin_headers, {"token": issued["secret"]}, 400),
    ]
    for headers, form, status in cases:
        response = await client.post("/oauth2/revoke", data=form, headers=headers)
        assert response.status_code == status, (headers, form)
        assert response.json()["error"] in ("invalid_request", "invalid_token")
    assert await is_active(client, gateway_headers, issued["secret"]) is True
    assert await is_active(client, gateway_headers, other["secret"]) is True
    integration_id = issued["token"]["integration_id"]
    assert "token.revoked" not in await audit_actions(client, admin_headers, integration_id)
