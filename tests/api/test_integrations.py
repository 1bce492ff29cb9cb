"""Management API: integrations (create, list, get, update, (de)activate, delete)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.helpers import (
    API,
    INTEGRATION_FIELDS,
    UNKNOWN_ID,
    assert_problem,
    assert_unauthenticated,
    audit_actions,
    expire_token,
    forbid_server_errors,
    integration_url,
    snapshot,
    stored_tokens,
    timestamp,
    tokens_url,
)
from tests.fixtures.api import create_integration, is_active, issue_token

INTEGRATIONS = f"{API}/integrations"

Headers = dict[str, str]


@pytest.fixture(autouse=True)
def _no_server_errors(client: httpx.AsyncClient) -> None:
    forbid_server_errors(client)


async def names(client: httpx.AsyncClient, headers: Headers, **params: Any) -> list[str]:
    response = await client.get(INTEGRATIONS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


# --- create -------------------------------------------------------------------------------


async def test_create_returns_integration_with_defaults(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    response = await client.post(
        INTEGRATIONS,
        json={"name": "Billing bot", "notification_email": "ops@example.com"},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body.keys() == INTEGRATION_FIELDS
    assert body["name"] == "Billing bot"
    assert body["description"] == ""
    assert body["notification_email"] == "ops@example.com"
    assert body["active"] is True
    assert body["token_counts"] == {"active": 0, "expired": 0, "revoked": 0}
    assert timestamp(body["created_at"]) <= timestamp(body["updated_at"])
    fetched = await client.get(integration_url(body["id"]), headers=admin_headers)
    assert fetched.json() == body
    assert await audit_actions(client, admin_headers, body["id"]) == ["integration.created"]


async def test_create_accepts_all_fields(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    body = await create_integration(
        client,
        admin_headers,
        name="  Stock sync  ",
        description="Pushes stock levels",
        active=False,
    )
    assert body["name"] == "Stock sync"
    assert body["description"] == "Pushes stock levels"
    assert body["active"] is False


async def test_create_accepts_name_of_200_characters(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    body = await create_integration(client, admin_headers, name="n" * 200)
    assert body["name"] == "n" * 200


@pytest.mark.parametrize("name", ["Billing bot", "BILLING BOT", "billing bot", " Billing Bot "])
async def test_create_refuses_a_name_in_use_case_insensitively(
    client: httpx.AsyncClient, admin_headers: Headers, name: str
) -> None:
    await create_integration(client, admin_headers, name="Billing Bot")
    before = await snapshot(client, admin_headers)
    response = await client.post(
        INTEGRATIONS,
        json={"name": name, "notification_email": "a@example.com"},
        headers=admin_headers,
    )
    assert_problem(response, 409)
    assert await snapshot(client, admin_headers) == before


async def test_concurrent_creates_with_one_name_have_one_winner(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(
                INTEGRATIONS,
                json={"name": f"Race {'x' if i % 2 else 'X'}", "notification_email": "a@b.example"},
                headers=admin_headers,
            )
            for i in range(6)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409)
    assert len(await names(client, admin_headers)) == 1


async def test_create_reuses_the_name_of_a_deleted_integration(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    old = await create_integration(client, admin_headers, name="Billing bot")
    assert (
        await client.delete(integration_url(old["id"]), headers=admin_headers)
    ).status_code == 204
    new = await create_integration(client, admin_headers, name="billing BOT")
    assert new["id"] != old["id"]
    assert await names(client, admin_headers) == ["billing BOT"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"notification_email": "ops@example.com"}, id="missing-name"),
        pytest.param({"name": "x"}, id="missing-email"),
        pytest.param({"name": 42, "notification_email": "ops@example.com"}, id="name-not-string"),
        pytest.param({"name": None, "notification_email": "ops@example.com"}, id="name-null"),
        pytest.param({"name": "   ", "notification_email": "ops@example.com"}, id="name-blank"),
        pytest.param({"name": "n" * 201, "notification_email": "ops@example.com"}, id="name-long"),
        pytest.param({"name": "a\x00b", "notification_email": "ops@example.com"}, id="name-nul"),
        pytest.param(
            {"name": "x", "notification_email": "ops@example.com", "description": "\x00"},
            id="description-nul",
        ),
        pytest.param(
            {"name": "x", "notification_email": "ops@example.com", "description": "d" * 2001},
            id="description-long",
        ),
        pytest.param(
            {"name": "x", "notification_email": "ops@example.com", "description": ["d"]},
            id="description-not-string",
        ),
        pytest.param({"name": "x", "notification_email": "not-an-email"}, id="email-invalid"),
        pytest.param(
            {"name": "x", "notification_email": "a" * 310 + "@example.com"}, id="email-long"
        ),
        pytest.param(
            {"name": "x", "notification_email": "ops@example.com", "active": "maybe"},
            id="active-not-bool",
        ),
        pytest.param(
            {"name": "x", "notification_email": "ops@example.com", "owner": "me"},
            id="unknown-field",
        ),
        pytest.param(["name", "x"], id="not-an-object"),
    ],
)
async def test_create_rejects_bad_input(
    client: httpx.AsyncClient, admin_headers: Headers, body: Any
) -> None:
    response = await client.post(INTEGRATIONS, json=body, headers=admin_headers)
    assert_problem(response, 422)
    assert (await snapshot(client, admin_headers))["integrations"] == []


async def test_create_rejects_malformed_json(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    response = await client.post(
        INTEGRATIONS,
        content=b'{"name": "x", "notification_email": ',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)
    assert (await snapshot(client, admin_headers))["integrations"] == []


async def test_viewer_cannot_create_integration(
    client: httpx.AsyncClient, viewer_headers: Headers, admin_headers: Headers
) -> None:
    response = await client.post(
        INTEGRATIONS,
        json={"name": "x", "notification_email": "ops@example.com"},
        headers=viewer_headers,
    )
    assert_problem(response, 403)
    assert (await snapshot(client, admin_headers))["integrations"] == []


# --- authentication and roles on every route ---------------------------------------------

ROUTES = [
    ("POST", "", {"name": "x", "notification_email": "ops@example.com"}),
    ("GET", "", None),
    ("GET", "/{id}", None),
    ("PATCH", "/{id}", {"description": "changed"}),
    ("DELETE", "/{id}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({}, id="none"),
        pytest.param({"Authorization": "Bearer ssa_not-a-session"}, id="bad-bearer"),
        pytest.param({"Authorization": "Basic YWRtaW46YWRtaW4="}, id="basic"),
    ],
)
async def test_every_route_requires_authentication(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    credentials: Headers,
) -> None:
    integration = await create_integration(client, admin_headers)
    before = await snapshot(client, admin_headers)
    url = INTEGRATIONS + path.format(id=integration["id"])
    response = await client.request(method, url, json=body, headers=credentials)
    assert_unauthenticated(response)
    assert await snapshot(client, admin_headers) == before


@pytest.mark.parametrize(
    ("method", "path", "body"), [route for route in ROUTES if route[0] != "GET"]
)
async def test_viewer_cannot_change_integrations(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    viewer_headers: Headers,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    integration = await create_integration(client, admin_headers)
    before = await snapshot(client, admin_headers)
    url = INTEGRATIONS + path.format(id=integration["id"])
    response = await client.request(method, url, json=body, headers=viewer_headers)
    assert_problem(response, 403)
    assert await snapshot(client, admin_headers) == before


async def test_viewer_can_read_integrations(
    client: httpx.AsyncClient, admin_headers: Headers, viewer_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers)
    one = await client.get(integration_url(integration["id"]), headers=viewer_headers)
    assert one.json() == integration
    assert await names(client, viewer_headers) == ["Billing bot"]


# --- get ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_unknown_integration_is_404(
    client: httpx.AsyncClient, admin_headers: Headers, method: str
) -> None:
    body = {"description": "x"} if method == "PATCH" else None
    response = await client.request(
        method, integration_url(UNKNOWN_ID), json=body, headers=admin_headers
    )
    assert_problem(response, 404)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
async def test_invalid_integration_id_is_422(
    client: httpx.AsyncClient, admin_headers: Headers, method: str, bad_id: str
) -> None:
    body = {"description": "x"} if method == "PATCH" else None
    response = await client.request(
        method, integration_url(bad_id), json=body, headers=admin_headers
    )
    assert_problem(response, 422)


# --- list ---------------------------------------------------------------------------------


async def test_list_is_newest_first_with_page_envelope(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    for name in ("first", "second", "third"):
        await create_integration(client, admin_headers, name=name)
    response = await client.get(INTEGRATIONS, headers=admin_headers)
    assert response.status_code == 200
    body = response.json()
    assert body.keys() == {"items", "total", "limit", "offset", "total_exact", "next_cursor"}
    assert (body["total"], body["limit"], body["offset"]) == (3, 50, 0)
    assert [item["name"] for item in body["items"]] == ["third", "second", "first"]
    assert all(item.keys() == INTEGRATION_FIELDS for item in body["items"])


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["alpha", "Bravo", "charlie"]),
        ("-name", ["charlie", "Bravo", "alpha"]),
        ("created_at", ["Bravo", "charlie", "alpha"]),
        ("-created_at", ["alpha", "charlie", "Bravo"]),
    ],
)
async def test_list_sorts(
    client: httpx.AsyncClient, admin_headers: Headers, sort: str, expected: list[str]
) -> None:
    for name in ("Bravo", "charlie", "alpha"):
        await create_integration(client, admin_headers, name=name)
    assert await names(client, admin_headers, sort=sort) == expected


async def test_list_filters_by_name_case_insensitively(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    for name in ("Billing bot", "Stock BILLING", "Returns", "100% sync", "1000 sync"):
        await create_integration(client, admin_headers, name=name)
    assert await names(client, admin_headers, q="billing", sort="name") == [
        "Billing bot",
        "Stock BILLING",
    ]
    assert await names(client, admin_headers, q="0%") == ["100% sync"]
    assert await names(client, admin_headers, q="nothing") == []


async def test_list_filters_by_active_flag(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await create_integration(client, admin_headers, name="on")
    await create_integration(client, admin_headers, name="off", active=False)
    assert await names(client, admin_headers, active="true") == ["on"]
    assert await names(client, admin_headers, active="false") == ["off"]
    assert await names(client, admin_headers, sort="name") == ["off", "on"]


async def test_list_pages_with_limit_and_offset(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    for index in range(5):
        await create_integration(client, admin_headers, name=f"i{index}")
    response = await client.get(
        INTEGRATIONS, params={"sort": "name", "limit": 2, "offset": 3}, headers=admin_headers
    )
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 3)
    assert [item["name"] for item in body["items"]] == ["i3", "i4"]
    beyond = await client.get(INTEGRATIONS, params={"offset": 10}, headers=admin_headers)
    assert (beyond.json()["items"], beyond.json()["total"]) == ([], 5)
    most = await client.get(INTEGRATIONS, params={"limit": 500}, headers=admin_headers)
    assert most.json()["limit"] == 500


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 501},
        {"limit": 0},
        {"limit": "ten"},
        {"offset": -1},
        {"sort": "updated_at"},
        {"sort": "name;drop"},
        {"active": "maybe"},
        {"q": "q" * 201},
        {"q": "a\x00"},
    ],
)
async def test_list_rejects_bad_parameters(
    client: httpx.AsyncClient, admin_headers: Headers, params: dict[str, Any]
) -> None:
    response = await client.get(INTEGRATIONS, params=params, headers=admin_headers)
    assert_problem(response, 422)


async def test_token_counts_reflect_token_states(
    client: httpx.AsyncClient, admin_headers: Headers, app: Any
) -> None:
    integration = await create_integration(client, admin_headers)
    other = await create_integration(client, admin_headers, name="other")
    await issue_token(client, admin_headers, other["id"])
    ids = [
        (await issue_token(client, admin_headers, integration["id"], name=f"t{i}"))["token"]["id"]
        for i in range(4)
    ]
    await client.post(tokens_url(integration["id"], f"/{ids[0]}/revoke"), headers=admin_headers)
    await expire_token(app, ids[1])
    expected = {"active": 2, "expired": 1, "revoked": 1}
    one = await client.get(integration_url(integration["id"]), headers=admin_headers)
    assert one.json()["token_counts"] == expected
    listed = await client.get(INTEGRATIONS, params={"sort": "name"}, headers=admin_headers)
    counts = [item["token_counts"] for item in listed.json()["items"]]
    assert counts == [expected, {"active": 1, "expired": 0, "revoked": 0}]


# --- update -------------------------------------------------------------------------------


async def test_update_changes_the_given_fields_only(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers, description="old")
    response = await client.patch(
        integration_url(integration["id"]),
        json={"name": "Renamed", "notification_email": "new@example.com"},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.keys() == INTEGRATION_FIELDS
    assert body["name"] == "Renamed"
    assert body["notification_email"] == "new@example.com"
    assert body["description"] == "old"
    assert body["active"] is True
    assert body["created_at"] == integration["created_at"]
    assert timestamp(body["updated_at"]) > timestamp(integration["updated_at"])
    fetched = await client.get(integration_url(integration["id"]), headers=admin_headers)
    assert fetched.json() == body
    actions = await audit_actions(client, admin_headers, integration["id"])
    assert actions == ["integration.created", "integration.updated"]


async def test_update_without_changes_records_nothing(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers)
    for body in ({}, {"name": integration["name"], "active": True}):
        response = await client.patch(
            integration_url(integration["id"]), json=body, headers=admin_headers
        )
        assert response.json() == integration
    assert await audit_actions(client, admin_headers, integration["id"]) == ["integration.created"]


async def test_update_may_change_the_case_of_its_own_name(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers, name="billing bot")
    response = await client.patch(
        integration_url(integration["id"]), json={"name": "Billing Bot"}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Billing Bot"


async def test_update_refuses_a_name_in_use(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await create_integration(client, admin_headers, name="Billing bot")
    other = await create_integration(client, admin_headers, name="Other")
    before = await snapshot(client, admin_headers)
    response = await client.patch(
        integration_url(other["id"]),
        json={"name": "BILLING BOT", "description": "x"},
        headers=admin_headers,
    )
    assert_problem(response, 409)
    assert await snapshot(client, admin_headers) == before


async def test_deactivate_and_reactivate(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    gateway_headers: Headers,
    app: Any,
) -> None:
    integration = await create_integration(client, admin_headers)
    url = integration_url(integration["id"])
    live = await issue_token(client, admin_headers, integration["id"], name="live")
    revoked = await issue_token(client, admin_headers, integration["id"], name="revoked")
    expired = await issue_token(client, admin_headers, integration["id"], name="expired")
    await client.post(
        tokens_url(integration["id"], f"/{revoked['token']['id']}/revoke"), headers=admin_headers
    )
    await expire_token(app, expired["token"]["id"])

    off = await client.patch(url, json={"active": False}, headers=admin_headers)
    assert off.status_code == 200
    assert off.json()["active"] is False
    assert await is_active(client, gateway_headers, live["secret"]) is False

    on = await client.patch(url, json={"active": True}, headers=admin_headers)
    assert on.json()["active"] is True
    assert await is_active(client, gateway_headers, live["secret"]) is True
    assert await is_active(client, gateway_headers, revoked["secret"]) is False
    assert await is_active(client, gateway_headers, expired["secret"]) is False
    assert on.json()["token_counts"] == {"active": 1, "expired": 1, "revoked": 1}

    actions = await audit_actions(client, admin_headers, integration["id"])
    assert actions[-2:] == ["integration.deactivated", "integration.activated"]


async def test_update_with_active_and_other_fields_records_both(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers)
    response = await client.patch(
        integration_url(integration["id"]),
        json={"active": False, "description": "paused"},
        headers=admin_headers,
    )
    assert response.json()["active"] is False
    actions = await audit_actions(client, admin_headers, integration["id"])
    assert sorted(actions[1:]) == ["integration.deactivated", "integration.updated"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"name": None}, id="name-null"),
        pytest.param({"description": None}, id="description-null"),
        pytest.param({"notification_email": None}, id="email-null"),
        pytest.param({"active": None}, id="active-null"),
        pytest.param({"name": ""}, id="name-empty"),
        pytest.param({"name": "n" * 201}, id="name-long"),
        pytest.param({"name": 7}, id="name-not-string"),
        pytest.param({"name": "nul\x00"}, id="name-nul"),
        pytest.param({"description": "d" * 2001}, id="description-long"),
        pytest.param({"notification_email": "nope"}, id="email-invalid"),
        pytest.param({"active": "maybe"}, id="active-not-bool"),
        pytest.param({"id": UNKNOWN_ID}, id="unknown-field-id"),
        pytest.param({"token_counts": {}}, id="unknown-field-counts"),
        pytest.param([{"name": "x"}], id="not-an-object"),
    ],
)
async def test_update_rejects_bad_input(
    client: httpx.AsyncClient, admin_headers: Headers, body: Any
) -> None:
    integration = await create_integration(client, admin_headers)
    before = await snapshot(client, admin_headers)
    response = await client.patch(
        integration_url(integration["id"]), json=body, headers=admin_headers
    )
    assert_problem(response, 422)
    assert await snapshot(client, admin_headers) == before


async def test_update_rejects_malformed_json(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers)
    response = await client.patch(
        integration_url(integration["id"]),
        content=b"{name: x}",
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert_problem(response, response.status_code)
    assert response.status_code in (400, 422)


# --- delete -------------------------------------------------------------------------------


async def test_delete_hides_the_integration(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers)
    keep = await create_integration(client, admin_headers, name="keep")
    url = integration_url(integration["id"])
    response = await client.delete(url, headers=admin_headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(url, headers=admin_headers), 404)
    listed = await client.get(INTEGRATIONS, headers=admin_headers)
    assert [item["id"] for item in listed.json()["items"]] == [keep["id"]]
    assert listed.json()["total"] == 1


async def test_delete_revokes_tokens_and_keeps_the_audit_trail(
    client: httpx.AsyncClient, admin_headers: Headers, gateway_headers: Headers, app: Any
) -> None:
    integration = await create_integration(client, admin_headers)
    integration_id = integration["id"]
    active = await issue_token(client, admin_headers, integration_id, name="active")
    expired = await issue_token(client, admin_headers, integration_id, name="expired")
    revoked = await issue_token(client, admin_headers, integration_id, name="revoked")
    await expire_token(app, expired["token"]["id"])
    await client.post(
        tokens_url(integration_id, f"/{revoked['token']['id']}/revoke"), headers=admin_headers
    )
    regenerated = await client.post(
        tokens_url(integration_id, f"/{active['token']['id']}/regenerate"), headers=admin_headers
    )
    await client.patch(
        integration_url(integration_id), json={"description": "x"}, headers=admin_headers
    )

    response = await client.delete(integration_url(integration_id), headers=admin_headers)
    assert response.status_code == 204

    replacement = regenerated.json()
    reasons = {str(t.id): t.revocation_reason for t in await stored_tokens(app, integration_id)}
    assert reasons == {
        active["token"]["id"]: "regenerated",
        expired["token"]["id"]: "integration_deleted",
        revoked["token"]["id"]: "revoked",
        replacement["token"]["id"]: "integration_deleted",
    }
    assert await is_active(client, gateway_headers, replacement["secret"]) is False
    assert await audit_actions(client, admin_headers, integration_id) == [
        "integration.created",
        "token.issued",
        "token.issued",
        "token.issued",
        "token.revoked",
        "token.regenerated",
        "integration.updated",
        "integration.deleted",
    ]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"description": "x"}),
        ("DELETE", "", None),
        ("GET", "/tokens", None),
        ("POST", "/tokens", {"name": "t", "expiration_policy": "never"}),
        ("POST", "/tokens/revoke", {"all": True}),
    ],
)
async def test_deleted_integration_is_404_everywhere(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    integration = await create_integration(client, admin_headers)
    await issue_token(client, admin_headers, integration["id"])
    await client.delete(integration_url(integration["id"]), headers=admin_headers)
    before = await snapshot(client, admin_headers)
    url = integration_url(integration["id"]) + suffix
    response = await client.request(method, url, json=body, headers=admin_headers)
    assert_problem(response, 404)
    assert await snapshot(client, admin_headers) == before
