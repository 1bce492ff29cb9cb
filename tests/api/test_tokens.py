"""Management API: access tokens (issue, list, get, revoke, mass revoke, regenerate)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.audit.service import audit_service
from app.db.session import begin_write
from app.errors import Conflict
from app.integrations.service import integration_service
from app.tokens.models import AccessToken
from tests.api.helpers import (
    UNKNOWN_ID,
    assert_issued,
    assert_no_store,
    assert_problem,
    assert_token_shape,
    assert_unauthenticated,
    audit_actions,
    expire_token,
    forbid_server_errors,
    lifetime,
    snapshot,
    stored_tokens,
    timestamp,
    tokens_url,
)
from tests.fixtures.api import create_integration, is_active, issue_token, state
from tests.fixtures.database import statements_seen

Headers = dict[str, str]


@pytest.fixture(autouse=True)
def _no_server_errors(client: httpx.AsyncClient) -> None:
    forbid_server_errors(client)


@pytest.fixture
async def integration_id(client: httpx.AsyncClient, admin_headers: Headers) -> str:
    return (await create_integration(client, admin_headers))["id"]  # type: ignore[no-any-return]


def in_future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def get_token(
    client: httpx.AsyncClient, headers: Headers, integration_id: str, token_id: str
) -> dict[str, Any]:
    response = await client.get(tokens_url(integration_id, f"/{token_id}"), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def list_tokens(
    client: httpx.AsyncClient, headers: Headers, integration_id: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(tokens_url(integration_id), params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def revoke(
    client: httpx.AsyncClient, headers: Headers, integration_id: str, token_id: str
) -> httpx.Response:
    return await client.post(tokens_url(integration_id, f"/{token_id}/revoke"), headers=headers)


async def regenerate(
    client: httpx.AsyncClient,
    headers: Headers,
    integration_id: str,
    token_id: str,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    url = tokens_url(integration_id, f"/{token_id}/regenerate")
    return await client.post(url, json=body, headers=headers)


async def mass_revoke(
    client: httpx.AsyncClient, headers: Headers, integration_id: str, body: Any
) -> httpx.Response:
    return await client.post(tokens_url(integration_id, "/revoke"), json=body, headers=headers)


# --- issue --------------------------------------------------------------------------------


async def test_issue_returns_the_secret_once_and_uncacheable(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    response = await client.post(
        tokens_url(integration_id),
        json={"name": "  ci deploy ", "expiration_policy": "30d"},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    assert_no_store(response)
    token = assert_issued(response.json(), integration_id=integration_id)
    assert token["name"] == "ci deploy"
    assert token["expiration_policy"] == "30d"
    secret = response.json()["secret"]

    fetched = await client.get(tokens_url(integration_id, f"/{token['id']}"), headers=admin_headers)
    listed = await client.get(tokens_url(integration_id), headers=admin_headers)
    audit = await client.get(
        "/api/v1/audit-events", params={"token_id": token["id"]}, headers=admin_headers
    )
    assert fetched.json() == token
    assert listed.json()["items"] == [token]
    for later in (fetched, listed, audit):
        assert secret not in later.text
        assert secret[8:-4] not in later.text
    assert await audit_actions(client, admin_headers, integration_id) == [
        "integration.created",
        "token.issued",
    ]


@pytest.mark.parametrize(
    ("policy", "days"),
    [("7d", 7), ("30d", 30), ("60d", 60), ("90d", 90), ("180d", 180), ("1y", 365)],
)
async def test_issue_sets_expiry_from_policy(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, policy: str, days: int
) -> None:
    token = (await issue_token(client, admin_headers, integration_id, expiration_policy=policy))[
        "token"
    ]
    assert token["expiration_policy"] == policy
    assert lifetime(token) == timedelta(days=days)
    assert abs(timestamp(token["created_at"]) - datetime.now(UTC)) < timedelta(minutes=1)


async def test_issue_with_never_policy_has_no_expiry(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    token = (await issue_token(client, admin_headers, integration_id, expiration_policy="never"))[
        "token"
    ]
    assert token["expiration_policy"] == "never"
    assert token["expires_at"] is None


async def test_issue_with_custom_policy_uses_the_given_expiry(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    expires_at = "2031-05-04T03:02:01+02:00"
    token = (
        await issue_token(
            client, admin_headers, integration_id, expiration_policy="custom", expires_at=expires_at
        )
    )["token"]
    assert token["expiration_policy"] == "custom"
    assert timestamp(token["expires_at"]) == datetime.fromisoformat(expires_at)


async def test_issue_is_allowed_for_an_inactive_integration(
    client: httpx.AsyncClient, admin_headers: Headers, gateway_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers, active=False)
    issued = await issue_token(client, admin_headers, integration["id"])
    assert issued["token"]["status"] == "active"
    assert await is_active(client, gateway_headers, issued["secret"]) is False


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"expiration_policy": "30d"}, id="missing-name"),
        pytest.param({"name": "t"}, id="missing-policy"),
        pytest.param({"name": 5, "expiration_policy": "30d"}, id="name-not-string"),
        pytest.param({"name": " ", "expiration_policy": "30d"}, id="name-blank"),
        pytest.param({"name": "n" * 201, "expiration_policy": "30d"}, id="name-long"),
        pytest.param({"name": "a\x00b", "expiration_policy": "30d"}, id="name-nul"),
        pytest.param({"name": "t", "expiration_policy": "2w"}, id="policy-unknown"),
        pytest.param({"name": "t", "expiration_policy": None}, id="policy-null"),
        pytest.param({"name": "t", "expiration_policy": "custom"}, id="custom-without-expiry"),
        pytest.param(
            {"name": "t", "expiration_policy": "custom", "expires_at": None}, id="custom-null"
        ),
        pytest.param(
            {"name": "t", "expiration_policy": "custom", "expires_at": in_future(seconds=-5)},
            id="custom-in-past",
        ),
        pytest.param(
            {"name": "t", "expiration_policy": "custom", "expires_at": "2031-01-01T00:00:00"},
            id="custom-naive",
        ),
        pytest.param(
            {"name": "t", "expiration_policy": "custom", "expires_at": "next tuesday"},
            id="custom-garbage",
        ),
        pytest.param(
            {"name": "t", "expiration_policy": "custom", "expires_at": "9999-12-31T23:00:00-05:00"},
            id="custom-beyond-year-9999-in-utc",
        ),
        pytest.param(
            {"name": "t", "expiration_policy": "30d", "expires_at": in_future(days=3)},
            id="expiry-with-30d",
        ),
        pytest.param(
            {"name": "t", "expiration_policy": "never", "expires_at": in_future(days=3)},
            id="expiry-with-never",
        ),
        pytest.param(
            {"name": "t", "expiration_policy": "30d", "secret": "ssg_x"}, id="unknown-field"
        ),
        pytest.param(["t", "30d"], id="not-an-object"),
    ],
)
async def test_issue_rejects_bad_input(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, body: Any
) -> None:
    before = await snapshot(client, admin_headers)
    response = await client.post(tokens_url(integration_id), json=body, headers=admin_headers)
    assert_problem(response, 422)
    assert await snapshot(client, admin_headers) == before


async def test_issue_rejects_malformed_json(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    response = await client.post(
        tokens_url(integration_id),
        content=b'{"name": "t", "expiration_policy": "30d"',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)
    assert (await list_tokens(client, admin_headers, integration_id))["total"] == 0


async def test_issue_under_unknown_integration_is_404(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    response = await client.post(
        tokens_url(UNKNOWN_ID), json={"name": "t", "expiration_policy": "7d"}, headers=admin_headers
    )
    assert_problem(response, 404)


async def test_issue_racing_a_delete_never_leaves_a_live_token(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, app: FastAPI
) -> None:
    async with state(app).sessionmaker() as session:
        await begin_write(session)
        await integration_service.delete(session, uuid.UUID(integration_id), actor="test")
        with statements_seen(state(app).engine) as seen:
            issuing = asyncio.create_task(
                client.post(
                    tokens_url(integration_id),
                    json={"name": "late", "expiration_policy": "never"},
                    headers=admin_headers,
                )
            )
            # The request has reached the statement that waits for the delete's lock.
            await seen.wait_for(lambda sql: "FOR UPDATE" in sql or sql == "BEGIN IMMEDIATE")
        await session.commit()
    assert_problem(await issuing, 404)
    assert await stored_tokens(app, integration_id) == []


# --- authentication, roles, ids -----------------------------------------------------------

WRITES = [
    ("", {"name": "t", "expiration_policy": "7d"}),
    ("/{token}/revoke", None),
    ("/revoke", {"all": True}),
    ("/revoke", {"token_ids": ["{token}"]}),
    ("/{token}/regenerate", None),
]
READS = ["", "/{token}"]


async def _route(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, suffix: str, body: Any
) -> tuple[str, Any]:
    token_id = (await issue_token(client, admin_headers, integration_id))["token"]["id"]
    if body is not None and "token_ids" in body:
        body = {"token_ids": [token_id]}
    return tokens_url(integration_id, suffix.format(token=token_id)), body


@pytest.mark.parametrize(("suffix", "body"), WRITES)
async def test_viewer_cannot_change_tokens(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    viewer_headers: Headers,
    integration_id: str,
    suffix: str,
    body: Any,
) -> None:
    url, body = await _route(client, admin_headers, integration_id, suffix, body)
    before = await snapshot(client, admin_headers)
    response = await client.post(url, json=body, headers=viewer_headers)
    assert_problem(response, 403)
    assert "secret" not in response.json()
    assert await snapshot(client, admin_headers) == before


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("POST", suffix, body) for suffix, body in WRITES] + [("GET", path, None) for path in READS],
)
@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({}, id="none"),
        pytest.param({"Authorization": "Bearer garbage"}, id="bad-bearer"),
        pytest.param({"Authorization": "Bearer "}, id="empty-bearer"),
    ],
)
async def test_every_token_route_requires_authentication(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration_id: str,
    method: str,
    suffix: str,
    body: Any,
    credentials: Headers,
) -> None:
    url, body = await _route(client, admin_headers, integration_id, suffix, body)
    before = await snapshot(client, admin_headers)
    response = await client.request(method, url, json=body, headers=credentials)
    assert_unauthenticated(response)
    assert await snapshot(client, admin_headers) == before


async def test_viewer_can_read_tokens(
    client: httpx.AsyncClient, admin_headers: Headers, viewer_headers: Headers, integration_id: str
) -> None:
    token = (await issue_token(client, admin_headers, integration_id))["token"]
    assert await get_token(client, viewer_headers, integration_id, token["id"]) == token
    assert (await list_tokens(client, viewer_headers, integration_id))["items"] == [token]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", "/{token}"),
        ("POST", "/{token}/revoke"),
        ("POST", "/{token}/regenerate"),
    ],
)
async def test_token_under_another_integration_is_404(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, method: str, suffix: str
) -> None:
    other = await create_integration(client, admin_headers, name="other")
    foreign = (await issue_token(client, admin_headers, other["id"]))["token"]
    before = await snapshot(client, admin_headers)
    for token_id in (foreign["id"], UNKNOWN_ID):
        url = tokens_url(integration_id, suffix.format(token=token_id))
        assert_problem(await client.request(method, url, headers=admin_headers), 404)
    assert await snapshot(client, admin_headers) == before


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("POST", ""),
        ("GET", "/{token}"),
        ("POST", "/{token}/revoke"),
        ("POST", "/{token}/regenerate"),
        ("POST", "/revoke"),
    ],
)
async def test_invalid_ids_in_path_are_422(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, method: str, suffix: str
) -> None:
    token_id = (await issue_token(client, admin_headers, integration_id))["token"]["id"]
    body = {"name": "t", "expiration_policy": "7d"} if suffix == "" else None
    before = await snapshot(client, admin_headers)
    urls = [tokens_url("not-a-uuid", suffix.format(token=token_id))]
    if "{token}" in suffix:
        urls.append(tokens_url(integration_id, suffix.format(token="12345")))
    for url in urls:
        response = await client.request(method, url, json=body, headers=admin_headers)
        assert_problem(response, 422)
    assert await snapshot(client, admin_headers) == before


# --- get and list -------------------------------------------------------------------------


async def test_list_is_newest_first_and_never_shows_secrets(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    issued = [
        await issue_token(client, admin_headers, integration_id, name=f"t{i}") for i in range(3)
    ]
    other = await create_integration(client, admin_headers, name="other")
    await issue_token(client, admin_headers, other["id"])
    response = await client.get(tokens_url(integration_id), headers=admin_headers)
    body = response.json()
    assert body.keys() == {"items", "total", "limit", "offset", "total_exact", "next_cursor"}
    assert (body["total"], body["limit"], body["offset"]) == (3, 50, 0)
    assert [item["name"] for item in body["items"]] == ["t2", "t1", "t0"]
    for item in body["items"]:
        assert_token_shape(item)
    for token in issued:
        assert token["secret"] not in response.text


async def test_list_filters_by_status(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, app: FastAPI
) -> None:
    ids = {
        name: (await issue_token(client, admin_headers, integration_id, name=name))["token"]["id"]
        for name in ("active", "never", "expired", "revoked", "revoked-expired")
    }
    await expire_token(app, ids["expired"])
    await revoke(client, admin_headers, integration_id, ids["revoked"])
    await revoke(client, admin_headers, integration_id, ids["revoked-expired"])
    await expire_token(app, ids["revoked-expired"])

    async def names(status: str) -> list[str]:
        body = await list_tokens(client, admin_headers, integration_id, status=status)
        assert all(item["status"] == status for item in body["items"])
        assert body["total"] == len(body["items"])
        return sorted(item["name"] for item in body["items"])

    assert await names("active") == ["active", "never"]
    assert await names("expired") == ["expired"]
    assert await names("revoked") == ["revoked", "revoked-expired"]


async def test_list_filters_by_name_and_pages(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    for name in ("CI deploy", "ci nightly", "Backup", "50% off", "500 off"):
        await issue_token(client, admin_headers, integration_id, name=name)

    async def names(q: str) -> list[str]:
        body = await list_tokens(client, admin_headers, integration_id, q=q)
        return [item["name"] for item in body["items"]]

    assert await names("CI") == ["ci nightly", "CI deploy"]
    assert await names("0%") == ["50% off"]
    assert await names("nothing") == []
    page = await list_tokens(client, admin_headers, integration_id, limit=2, offset=1)
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    assert [item["name"] for item in page["items"]] == ["50% off", "Backup"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "dead"},
        {"limit": 501},
        {"limit": 0},
        {"offset": -1},
        {"q": "q" * 201},
        {"q": "\x00"},
    ],
)
async def test_list_rejects_bad_parameters(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, params: dict[str, Any]
) -> None:
    response = await client.get(tokens_url(integration_id), params=params, headers=admin_headers)
    assert_problem(response, 422)


async def test_list_under_unknown_integration_is_404(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    assert_problem(await client.get(tokens_url(UNKNOWN_ID), headers=admin_headers), 404)


# --- revoke -------------------------------------------------------------------------------


async def test_revoke_marks_the_token_revoked(
    client: httpx.AsyncClient, admin_headers: Headers, gateway_headers: Headers, integration_id: str
) -> None:
    issued = await issue_token(client, admin_headers, integration_id)
    token_id = issued["token"]["id"]
    response = await revoke(client, admin_headers, integration_id, token_id)
    assert response.status_code == 200, response.text
    token = response.json()
    assert_token_shape(token)
    assert token["status"] == "revoked"
    assert token["revocation_reason"] == "revoked"
    assert token["replaced_by"] is None
    assert abs(timestamp(token["revoked_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    changed = {"status", "revoked_at", "revocation_reason"}
    assert {k: v for k, v in token.items() if k not in changed} == {
        k: v for k, v in issued["token"].items() if k not in changed
    }
    assert await get_token(client, admin_headers, integration_id, token_id) == token
    assert await is_active(client, gateway_headers, issued["secret"]) is False
    assert (await audit_actions(client, admin_headers, integration_id))[-1] == "token.revoked"


async def test_revoke_is_idempotent(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    token_id = (await issue_token(client, admin_headers, integration_id))["token"]["id"]
    first = await revoke(client, admin_headers, integration_id, token_id)
    before = await snapshot(client, admin_headers)
    second = await revoke(client, admin_headers, integration_id, token_id)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert await snapshot(client, admin_headers) == before


async def test_revoke_leaves_an_expired_token_expired(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, app: FastAPI
) -> None:
    token_id = (await issue_token(client, admin_headers, integration_id))["token"]["id"]
    await expire_token(app, token_id)
    before = await snapshot(client, admin_headers)
    response = await revoke(client, admin_headers, integration_id, token_id)
    assert response.status_code == 200
    assert response.json()["status"] == "expired"
    assert response.json()["revoked_at"] is None
    assert response.json() == await get_token(client, admin_headers, integration_id, token_id)
    assert await snapshot(client, admin_headers) == before


async def test_revoke_leaves_a_token_that_expired_on_its_own_expired(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    issued = await issue_token(client, admin_headers, integration_id, expiration_policy="7d")
    await expire_token(app, issued["token"]["id"])
    token = await get_token(client, admin_headers, integration_id, issued["token"]["id"])
    assert token["status"] == "expired"
    response = await revoke(client, admin_headers, integration_id, token["id"])
    assert response.json() == token


# --- mass revoke --------------------------------------------------------------------------


async def test_mass_revoke_sorts_ids_into_outcomes(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, app: FastAPI
) -> None:
    tokens = [
        (await issue_token(client, admin_headers, integration_id, name=f"t{i}"))["token"]["id"]
        for i in range(5)
    ]
    active_a, active_b, revoked, expired, untouched = tokens
    await revoke(client, admin_headers, integration_id, revoked)
    await expire_token(app, expired)
    other = await create_integration(client, admin_headers, name="other")
    foreign = (await issue_token(client, admin_headers, other["id"]))["token"]["id"]
    unknown = str(uuid.uuid4())

    response = await mass_revoke(
        client,
        admin_headers,
        integration_id,
        {"token_ids": [active_a, revoked, expired, unknown, foreign, active_b, active_a, unknown]},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "revoked": [active_a, active_b],
        "already_inactive": [revoked, expired],
        "not_found": [unknown, foreign],
        "revoked_count": 2,
        "already_inactive_count": 2,
        "truncated": False,
    }
    status = {
        t["id"]: (t["status"], t["revocation_reason"])
        for t in (await list_tokens(client, admin_headers, integration_id))["items"]
    }
    assert status == {
        active_a: ("revoked", "revoked"),
        active_b: ("revoked", "revoked"),
        revoked: ("revoked", "revoked"),
        expired: ("expired", None),
        untouched: ("active", None),
    }
    assert (await get_token(client, admin_headers, other["id"], foreign))["status"] == "active"
    actions = await audit_actions(client, admin_headers, integration_id)
    assert actions.count("token.revoked") == 3


async def test_mass_revoke_all(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, app: FastAPI
) -> None:
    ids = [
        (await issue_token(client, admin_headers, integration_id, name=f"t{i}"))["token"]["id"]
        for i in range(4)
    ]
    await revoke(client, admin_headers, integration_id, ids[1])
    await expire_token(app, ids[2])
    other = await create_integration(client, admin_headers, name="other")
    foreign = (await issue_token(client, admin_headers, other["id"]))["token"]["id"]

    response = await mass_revoke(client, admin_headers, integration_id, {"all": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(body["revoked"]) == sorted([ids[0], ids[3]])
    assert sorted(body["already_inactive"]) == sorted([ids[1], ids[2]])
    assert body["not_found"] == []
    counts = (
        await client.get(f"/api/v1/integrations/{integration_id}", headers=admin_headers)
    ).json()
    assert counts["token_counts"] == {"active": 0, "expired": 1, "revoked": 3}
    assert (await get_token(client, admin_headers, other["id"], foreign))["status"] == "active"

    again = await mass_revoke(client, admin_headers, integration_id, {"all": True})
    assert again.json()["revoked"] == []


async def test_mass_revoke_all_of_an_integration_without_tokens(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    response = await mass_revoke(client, admin_headers, integration_id, {"all": True})
    assert response.json() == {
        "revoked": [],
        "already_inactive": [],
        "not_found": [],
        "revoked_count": 0,
        "already_inactive_count": 0,
        "truncated": False,
    }


async def test_mass_revoke_accepts_1000_ids(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    token_id = (await issue_token(client, admin_headers, integration_id))["token"]["id"]
    ids = [token_id] + [str(uuid.uuid4()) for _ in range(999)]
    response = await mass_revoke(client, admin_headers, integration_id, {"token_ids": ids})
    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == [token_id]
    assert len(response.json()["not_found"]) == 999


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="neither"),
        pytest.param({"all": True, "token_ids": ["{token}"]}, id="both"),
        pytest.param({"token_ids": []}, id="no-ids"),
        pytest.param({"token_ids": [str(uuid.UUID(int=i)) for i in range(1001)]}, id="1001-ids"),
        pytest.param({"token_ids": ["{token}", "not-a-uuid"]}, id="malformed-id"),
        pytest.param({"token_ids": "{token}"}, id="ids-not-a-list"),
        pytest.param({"token_ids": None}, id="ids-null"),
        pytest.param({"all": False}, id="all-false"),
        pytest.param({"all": "yes please"}, id="all-not-bool"),
        pytest.param({"all": True, "reason": "leaked"}, id="unknown-field"),
        pytest.param(["{token}"], id="not-an-object"),
    ],
)
async def test_mass_revoke_rejects_bad_input(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, body: Any
) -> None:
    token_id = (await issue_token(client, admin_headers, integration_id))["token"]["id"]
    body = json.loads(json.dumps(body).replace("{token}", token_id))
    before = await snapshot(client, admin_headers)
    assert_problem(await mass_revoke(client, admin_headers, integration_id, body), 422)
    assert await snapshot(client, admin_headers) == before


async def test_mass_revoke_is_all_or_nothing(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [
        (await issue_token(client, admin_headers, integration_id, name=f"t{i}"))["token"]["id"]
        for i in range(3)
    ]
    before = await snapshot(client, admin_headers)

    async def fail_after_the_update(*args: Any, **kwargs: Any) -> None:
        raise Conflict("injected failure")  # the tokens are updated (unflushed audit) by now

    monkeypatch.setattr(audit_service, "record_many", fail_after_the_update)
    response = await mass_revoke(client, admin_headers, integration_id, {"token_ids": ids})
    monkeypatch.undo()
    assert_problem(response, 409)
    assert await snapshot(client, admin_headers) == before


# --- regenerate ---------------------------------------------------------------------------


async def test_regenerate_revokes_old_token_at_once(
    client: httpx.AsyncClient, admin_headers: Headers, gateway_headers: Headers, integration_id: str
) -> None:
    old = await issue_token(client, admin_headers, integration_id, name="deploy")
    response = await regenerate(client, admin_headers, integration_id, old["token"]["id"])
    assert response.status_code == 201, response.text
    assert_no_store(response)
    new = assert_issued(response.json(), integration_id=integration_id)
    assert new["id"] != old["token"]["id"]
    assert new["name"] == "deploy"
    assert response.json()["secret"] != old["secret"]

    replaced = await get_token(client, admin_headers, integration_id, old["token"]["id"])
    assert replaced["status"] == "revoked"
    assert replaced["revocation_reason"] == "regenerated"
    assert replaced["replaced_by"] == new["id"]
    assert await is_active(client, gateway_headers, old["secret"]) is False
    assert await is_active(client, gateway_headers, response.json()["secret"]) is True
    assert (await audit_actions(client, admin_headers, integration_id))[-1] == "token.regenerated"
    counts = (
        await client.get(f"/api/v1/integrations/{integration_id}", headers=admin_headers)
    ).json()
    assert counts["token_counts"] == {"active": 1, "expired": 0, "revoked": 1}


@pytest.mark.parametrize(
    ("policy", "days"), [("7d", 7), ("30d", 30), ("90d", 90), ("1y", 365), ("never", None)]
)
async def test_regenerate_keeps_the_policy_counted_from_now(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration_id: str,
    app: FastAPI,
    policy: str,
    days: int | None,
) -> None:
    old = (await issue_token(client, admin_headers, integration_id, expiration_policy=policy))[
        "token"
    ]
    if days is not None:
        await expire_token(app, old["id"])  # so "from now" cannot pass for "as before"
    new = (await regenerate(client, admin_headers, integration_id, old["id"])).json()["token"]
    assert new["expiration_policy"] == policy
    assert timestamp(new["created_at"]) > timestamp(old["created_at"])
    if days is None:
        assert new["expires_at"] is None
    else:
        assert lifetime(new) == timedelta(days=days)


async def test_regenerate_keeps_a_custom_lifetime_counted_from_now(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    old = (
        await issue_token(
            client,
            admin_headers,
            integration_id,
            expiration_policy="custom",
            expires_at=in_future(days=10),
        )
    )["token"]
    new = (await regenerate(client, admin_headers, integration_id, old["id"])).json()["token"]
    assert new["expiration_policy"] == "custom"
    assert lifetime(new) == lifetime(old)
    assert timestamp(new["expires_at"]) > timestamp(old["expires_at"])


async def test_regenerate_keeps_a_practically_never_custom_expiry(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, app: FastAPI
) -> None:
    last = "9999-12-31T23:59:59.999999Z"
    old = (
        await issue_token(
            client, admin_headers, integration_id, expiration_policy="custom", expires_at=last
        )
    )["token"]
    async with state(app).engine.begin() as connection:  # issued a day ago
        await connection.execute(
            update(AccessToken)
            .where(AccessToken.id == uuid.UUID(old["id"]))
            .values(created_at=datetime.now(UTC) - timedelta(days=1))
        )
    response = await regenerate(client, admin_headers, integration_id, old["id"])
    assert response.status_code == 201, response.text
    assert timestamp(response.json()["token"]["expires_at"]) == timestamp(last)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"expiration_policy": "7d"}, timedelta(days=7)),
        ({"expiration_policy": "never"}, None),
        (
            {"expiration_policy": "custom", "expires_at": "2032-01-01T01:00:00+01:00"},
            datetime(2032, 1, 1, tzinfo=UTC),
        ),
    ],
)
async def test_regenerate_accepts_an_explicit_policy(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration_id: str,
    body: dict[str, Any],
    expected: timedelta | datetime | None,
) -> None:
    old = (await issue_token(client, admin_headers, integration_id, expiration_policy="1y"))[
        "token"
    ]
    response = await regenerate(client, admin_headers, integration_id, old["id"], body)
    assert response.status_code == 201, response.text
    new = response.json()["token"]
    assert new["expiration_policy"] == body["expiration_policy"]
    if expected is None:
        assert new["expires_at"] is None
    elif isinstance(expected, timedelta):
        assert lifetime(new) == expected
    else:
        assert timestamp(new["expires_at"]) == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"expiration_policy": "custom"}, id="custom-without-expiry"),
        pytest.param(
            {"expiration_policy": "custom", "expires_at": in_future(days=-1)}, id="custom-in-past"
        ),
        pytest.param(
            {"expiration_policy": "7d", "expires_at": in_future(days=3)}, id="expiry-with-7d"
        ),
        pytest.param({"expiration_policy": "forever"}, id="policy-unknown"),
        pytest.param({"expiration_policy": "7d", "name": "renamed"}, id="unknown-field"),
        pytest.param({"expires_at": in_future(days=3)}, id="missing-policy"),
        pytest.param("7d", id="not-an-object"),
    ],
)
async def test_regenerate_rejects_bad_input(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, body: Any
) -> None:
    token_id = (await issue_token(client, admin_headers, integration_id))["token"]["id"]
    before = await snapshot(client, admin_headers)
    response = await regenerate(client, admin_headers, integration_id, token_id, body)
    assert_problem(response, 422)
    assert await snapshot(client, admin_headers) == before


async def test_regenerate_rejects_malformed_json(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str
) -> None:
    token_id = (await issue_token(client, admin_headers, integration_id))["token"]["id"]
    before = await snapshot(client, admin_headers)
    response = await client.post(
        tokens_url(integration_id, f"/{token_id}/regenerate"),
        content=b'{"expiration_policy": ',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)
    assert await snapshot(client, admin_headers) == before


@pytest.mark.parametrize("how", ["revoked", "regenerated", "mass-revoked"])
async def test_regenerate_refuses_a_revoked_token(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, how: str
) -> None:
    token_id = (await issue_token(client, admin_headers, integration_id))["token"]["id"]
    if how == "revoked":
        await revoke(client, admin_headers, integration_id, token_id)
    elif how == "regenerated":
        await regenerate(client, admin_headers, integration_id, token_id)
    else:
        await mass_revoke(client, admin_headers, integration_id, {"token_ids": [token_id]})
    before = await snapshot(client, admin_headers)
    response = await regenerate(client, admin_headers, integration_id, token_id)
    assert_problem(response, 409)
    assert "secret" not in response.json()
    assert await snapshot(client, admin_headers) == before


async def test_regenerate_replaces_an_expired_token(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, app: FastAPI
) -> None:
    token_id = (await issue_token(client, admin_headers, integration_id))["token"]["id"]
    await expire_token(app, token_id)
    response = await regenerate(client, admin_headers, integration_id, token_id)
    assert response.status_code == 201, response.text
    new = response.json()["token"]
    old = await get_token(client, admin_headers, integration_id, token_id)
    assert (old["status"], old["revocation_reason"], old["replaced_by"]) == (
        "revoked",
        "regenerated",
        new["id"],
    )


async def test_concurrent_regenerates_have_exactly_one_winner(
    client: httpx.AsyncClient, admin_headers: Headers, integration_id: str, app: FastAPI
) -> None:
    old = (await issue_token(client, admin_headers, integration_id))["token"]
    responses = await asyncio.gather(
        *(regenerate(client, admin_headers, integration_id, old["id"]) for _ in range(8))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 7, [r.text for r in responses]
    winner = next(r.json()["token"] for r in responses if r.status_code == 201)

    active = (await list_tokens(client, admin_headers, integration_id, status="active"))["items"]
    assert [token["id"] for token in active] == [winner["id"]]
    assert len(await stored_tokens(app, integration_id)) == 2
    replaced = await get_token(client, admin_headers, integration_id, old["id"])
    assert replaced["replaced_by"] == winner["id"]
    actions = await audit_actions(client, admin_headers, integration_id)
    assert actions.count("token.regenerated") == 1
