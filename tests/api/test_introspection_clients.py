from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from app import token_format
from tests.fixtures.api import basic_auth, create_integration, introspect, issue_token

URL = "/api/v1/introspection-clients"


async def create_client(
    client: httpx.AsyncClient, headers: dict[str, str], name: str = "gateway"
) -> dict[str, Any]:
    response = await client.post(URL, json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def gateway_of(credentials: dict[str, Any]) -> dict[str, str]:
    return basic_auth(credentials["client_id"], credentials["client_secret"])


async def revoke(
    client: httpx.AsyncClient, headers: dict[str, str], client_id: str
) -> httpx.Response:
    return await client.post(f"{URL}/{client_id}/revoke", headers=headers)


async def test_create_returns_the_secret_once_and_uncached(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(URL, json={"name": "Global API gateway"}, headers=admin_headers)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"client_id", "client_secret", "name"}
    assert body["name"] == "Global API gateway"
    uuid.UUID(body["client_id"])
    assert body["client_secret"].startswith("ssc_")
    assert token_format.is_well_formed(body["client_secret"], token_format.CLIENT_SECRET_PREFIX)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


async def test_created_credentials_work_for_introspection(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    credentials = await create_client(client, admin_headers)
    integration = await create_integration(client, admin_headers)
    issued = await issue_token(client, admin_headers, integration["id"])
    response = await introspect(client, gateway_of(credentials), issued["secret"])
    assert response.status_code == 200
    assert response.json()["active"] is True


async def test_list_never_shows_secrets(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    first = await create_client(client, admin_headers, "first")
    second = await create_client(client, admin_headers, "second")
    response = await client.get(URL, headers=admin_headers)
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 2
    assert (page["limit"], page["offset"]) == (50, 0)
    assert {item["client_id"] for item in page["items"]} == {
        first["client_id"],
        second["client_id"],
    }
    for item in page["items"]:
        assert "client_secret" not in item
        assert item["active"] is True
        assert item["revoked_at"] is None
    for secret in (first["client_secret"], second["client_secret"]):
        assert secret[4:] not in response.text


async def test_list_paginates(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    for i in range(3):
        await create_client(client, admin_headers, f"gateway {i}")
    response = await client.get(URL, params={"limit": 2, "offset": 2}, headers=admin_headers)
    page = response.json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 2)
    assert len(page["items"]) == 1


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"offset": -1}])
async def test_list_with_bad_paging_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], params: dict[str, int]
) -> None:
    response = await client.get(URL, params=params, headers=admin_headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": "ok", "extra": 1}]
)
async def test_create_with_bad_body_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.post(URL, json=body, headers=admin_headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_revoke_returns_the_client_and_is_idempotent(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    credentials = await create_client(client, admin_headers)
    first = await revoke(client, admin_headers, credentials["client_id"])
    assert first.status_code == 200
    body = first.json()
    assert body["client_id"] == credentials["client_id"]
    assert body["active"] is False
    assert body["revoked_at"] is not None
    assert "client_secret" not in body
    second = await revoke(client, admin_headers, credentials["client_id"])
    assert second.status_code == 200
    assert second.json() == body


async def test_revoked_client_cannot_introspect(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    credentials = await create_client(client, admin_headers)
    assert (await introspect(client, gateway_of(credentials), "ssg_bogus")).status_code == 200
    await revoke(client, admin_headers, credentials["client_id"])
    response = await introspect(client, gateway_of(credentials), "ssg_bogus")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
    assert response.headers["www-authenticate"] == 'Basic realm="introspection"'


async def test_revoking_one_client_leaves_others_working(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    revoked = await create_client(client, admin_headers, "old")
    kept = await create_client(client, admin_headers, "new")
    await revoke(client, admin_headers, revoked["client_id"])
    response = await introspect(client, gateway_of(kept), "ssg_bogus")
    assert response.status_code == 200
    assert response.json() == {"active": False}
    listed = (await client.get(URL, headers=admin_headers)).json()["items"]
    assert {item["name"]: item["active"] for item in listed} == {"old": False, "new": True}


async def test_revoke_unknown_client_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await revoke(client, admin_headers, str(uuid.uuid4()))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_revoke_with_bad_uuid_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await revoke(client, admin_headers, "not-a-uuid")).status_code == 422


async def test_viewer_may_list_but_not_create_or_revoke(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    credentials = await create_client(client, admin_headers)
    assert (await client.get(URL, headers=viewer_headers)).status_code == 200
    created = await client.post(URL, json={"name": "sneaky"}, headers=viewer_headers)
    assert created.status_code == 403
    assert created.headers["content-type"] == "application/problem+json"
    assert (await revoke(client, viewer_headers, credentials["client_id"])).status_code == 403
    assert (await introspect(client, gateway_of(credentials), "ssg_bogus")).status_code == 200
    assert (await client.get(URL, headers=admin_headers)).json()["total"] == 1


async def test_anonymous_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get(URL)).status_code == 401
    assert (await client.post(URL, json={"name": "gateway"})).status_code == 401
    assert (await revoke(client, {}, str(uuid.uuid4()))).status_code == 401


async def test_create_and_revoke_are_audited(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    credentials = await create_client(client, admin_headers)
    await revoke(client, admin_headers, credentials["client_id"])
    await revoke(client, admin_headers, credentials["client_id"])
    response = await client.get("/api/v1/audit-events", headers=admin_headers)
    events = [
        e for e in response.json()["items"] if e["action"].startswith("introspection_client.")
    ]
    assert [e["action"] for e in events] == [
        "introspection_client.revoked",
        "introspection_client.created",
    ]
    for event in events:
        assert event["actor"] == "admin:admin"
        assert event["details"]["client_id"] == credentials["client_id"]
        assert credentials["client_secret"][4:] not in str(event)
