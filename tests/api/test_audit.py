from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.fixtures.api import create_integration, issue_token

URL = "/api/v1/audit-events"


async def list_events(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_events_are_listed_newest_first(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    names = [f"Integration {i}" for i in range(4)]
    for name in names:
        await create_integration(client, admin_headers, name=name)
    page = await list_events(client, admin_headers, action="integration.created")
    assert [e["details"]["name"] for e in page["items"]] == list(reversed(names))
    moments = [datetime.fromisoformat(e["at"]) for e in page["items"]]
    assert moments == sorted(moments, reverse=True)


async def test_event_has_contract_fields_and_admin_actor(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    integration = await create_integration(client, admin_headers)
    [event] = (await list_events(client, admin_headers, action="integration.created"))["items"]
    assert set(event) == {"id", "at", "actor", "action", "integration_id", "token_id", "details"}
    assert event["actor"] == "admin:admin"
    assert event["action"] == "integration.created"
    assert event["integration_id"] == integration["id"]
    assert event["token_id"] is None
    assert isinstance(event["details"], dict)
    assert datetime.fromisoformat(event["at"]).utcoffset() is not None


async def test_filter_by_integration_id(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    mine = await create_integration(client, admin_headers, name="Mine")
    other = await create_integration(client, admin_headers, name="Other")
    await issue_token(client, admin_headers, mine["id"])
    await issue_token(client, admin_headers, other["id"])
    page = await list_events(client, admin_headers, integration_id=mine["id"])
    assert page["total"] == 2
    assert {e["integration_id"] for e in page["items"]} == {mine["id"]}
    assert [e["action"] for e in page["items"]] == ["token.issued", "integration.created"]


async def test_filter_by_token_id(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    integration = await create_integration(client, admin_headers)
    token = (await issue_token(client, admin_headers, integration["id"]))["token"]
    await issue_token(client, admin_headers, integration["id"], name="other")
    revoked = await client.post(
        f"/api/v1/integrations/{integration['id']}/tokens/{token['id']}/revoke",
        headers=admin_headers,
    )
    assert revoked.status_code == 200
    page = await list_events(client, admin_headers, token_id=token["id"])
    assert [e["action"] for e in page["items"]] == ["token.revoked", "token.issued"]
    assert {e["token_id"] for e in page["items"]} == {token["id"]}


async def test_filter_by_action(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    integration = await create_integration(client, admin_headers)
    await issue_token(client, admin_headers, integration["id"])
    page = await list_events(client, admin_headers, action="token.issued")
    assert page["total"] == 1
    assert page["items"][0]["action"] == "token.issued"


async def test_unknown_action_matches_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_integration(client, admin_headers)
    page = await list_events(client, admin_headers, action="no.such.action")
    assert page == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
        "total_exact": True,
        "next_cursor": None,
    }


async def test_pagination_reports_limit_offset_and_total(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for i in range(5):
        await create_integration(client, admin_headers, name=f"Integration {i}")
    everything = await list_events(client, admin_headers, action="integration.created")
    page = await list_events(client, admin_headers, action="integration.created", limit=2, offset=1)
    assert page["total"] == 5
    assert (page["limit"], page["offset"]) == (2, 1)
    assert page["items"] == everything["items"][1:3]
    beyond = await list_events(client, admin_headers, action="integration.created", offset=10)
    assert beyond["items"] == []
    assert beyond["total"] == 5


async def test_default_page_size_is_50(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    page = await list_events(client, admin_headers)
    assert (page["limit"], page["offset"]) == (50, 0)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": "ten"},
        {"offset": -1},
        {"integration_id": "not-a-uuid"},
        {"token_id": "1234"},
        {"action": "x" * 65},
    ],
)
async def test_bad_query_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], params: dict[str, Any]
) -> None:
    response = await client.get(URL, params=params, headers=admin_headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


async def test_limit_500_is_allowed(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await list_events(client, admin_headers, limit=500))["limit"] == 500


async def test_viewer_may_read(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    await create_integration(client, admin_headers)
    page = await list_events(client, viewer_headers, action="integration.created")
    assert page["total"] == 1


async def test_anonymous_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(URL)
    assert response.status_code == 401
    assert "www-authenticate" in response.headers


async def test_details_never_contain_a_secret(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    integration = await create_integration(client, admin_headers)
    issued = await issue_token(client, admin_headers, integration["id"])
    regenerated = await client.post(
        f"/api/v1/integrations/{integration['id']}/tokens/{issued['token']['id']}/regenerate",
        headers=admin_headers,
    )
    assert regenerated.status_code == 201
    created = await client.post(
        "/api/v1/introspection-clients", json={"name": "gateway"}, headers=admin_headers
    )
    assert created.status_code == 201
    secrets = [
        issued["secret"],
        regenerated.json()["secret"],
        created.json()["client_secret"],
        admin_headers["Authorization"].removeprefix("Bearer "),
    ]
    page = await list_events(client, admin_headers, limit=500)
    assert {"token.issued", "token.regenerated", "introspection_client.created"} <= {
        e["action"] for e in page["items"]
    }
    text = str(page)
    for secret in secrets:
        assert secret[4:] not in text
