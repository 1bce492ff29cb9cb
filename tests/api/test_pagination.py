"""Keyset pagination, capped totals and counters kept with every change (issue 13)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import (
    API,
    assert_problem,
    expire_token,
    integration_url,
    stored_tokens,
    tokens_url,
)
from tests.fixtures.api import create_integration, issue_token

Headers = dict[str, str]


async def walk(
    client: httpx.AsyncClient,
    headers: Headers,
    url: str,
    *,
    between_pages: Any = None,
    **params: Any,
) -> list[dict[str, Any]]:
    """Every item of a list, page by page through ``next_cursor``."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        if between_pages is not None:
            await between_pages()


async def test_token_cursor_pages_show_every_token_once_despite_concurrent_inserts(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers)
    url = tokens_url(integration["id"])
    ids = [
        (await issue_token(client, admin_headers, integration["id"], name=f"t{i}"))["token"]["id"]
        for i in range(7)
    ]

    async def issue_another() -> None:
        await issue_token(client, admin_headers, integration["id"], name="late")

    seen = await walk(client, admin_headers, url, between_pages=issue_another, limit=3)
    seen_ids = [t["id"] for t in seen]
    # Newest first; tokens issued while paging are newer than the cursor, so they appear
    # in no later page: each original token exactly once, in order, nothing twice.
    assert seen_ids == list(reversed(ids))
    offset_listing = await client.get(url, params={"limit": 500}, headers=admin_headers)
    assert offset_listing.json()["total"] == 7 + 2


@pytest.mark.parametrize("status", ["active", "expired", "revoked"])
async def test_token_cursor_pages_respect_the_status_filter(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers, status: str
) -> None:
    integration = await create_integration(client, admin_headers)
    tokens = [
        (await issue_token(client, admin_headers, integration["id"], name=f"t{i}"))["token"]
        for i in range(9)
    ]
    for token in tokens[0::3]:
        await expire_token(app, token["id"])
    for token in tokens[1::3]:
        response = await client.post(
            tokens_url(integration["id"], f"/{token['id']}/revoke"), headers=admin_headers
        )
        assert response.status_code == 200
    seen = await walk(client, admin_headers, tokens_url(integration["id"]), limit=2, status=status)
    assert len(seen) == 3
    assert {t["status"] for t in seen} == {status}
    listed = await client.get(
        tokens_url(integration["id"]), params={"status": status}, headers=admin_headers
    )
    assert listed.json()["total"] == 3
    assert listed.json()["total_exact"] is True


async def test_audit_cursor_pages_show_every_event_once(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers)
    for i in range(5):
        await issue_token(client, admin_headers, integration["id"], name=f"t{i}")
    everything = (
        await client.get(f"{API}/audit-events", params={"limit": 500}, headers=admin_headers)
    ).json()["items"]
    seen = await walk(client, admin_headers, f"{API}/audit-events", limit=2)
    assert [e["id"] for e in seen] == [e["id"] for e in everything]
    only_issued = await walk(
        client, admin_headers, f"{API}/audit-events", limit=2, action="token.issued"
    )
    assert len(only_issued) == 5


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at"])
async def test_integration_cursor_pages_follow_each_sort(
    client: httpx.AsyncClient, admin_headers: Headers, sort: str
) -> None:
    for name in ["delta", "Alpha", "charlie", "bravo", "echo"]:
        await create_integration(client, admin_headers, name=name)
    expected = (
        await client.get(
            f"{API}/integrations", params={"sort": sort, "limit": 500}, headers=admin_headers
        )
    ).json()["items"]
    seen = await walk(client, admin_headers, f"{API}/integrations", limit=2, sort=sort)
    assert [i["id"] for i in seen] == [i["id"] for i in expected]


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "AAAA",
        _cursor("tokens"),
        _cursor(
            "audit-events", "2026-01-01T00:00:00+00:00", "7b1c1d64-0000-4000-8000-000000000000"
        ),
        _cursor("tokens", "yesterday", "7b1c1d64-0000-4000-8000-000000000000"),
        _cursor("tokens", "2026-01-01T00:00:00", "7b1c1d64-0000-4000-8000-000000000000"),
        _cursor("tokens", "2026-01-01T00:00:00+00:00", "not-a-uuid"),
        _cursor("tokens", "2026-01-01T00:00:00+00:00", 5),
        _cursor({"tokens": 1}),
    ],
)
async def test_a_bad_cursor_is_a_validation_problem(
    client: httpx.AsyncClient, admin_headers: Headers, cursor: str
) -> None:
    integration = await create_integration(client, admin_headers)
    response = await client.get(
        tokens_url(integration["id"]), params={"cursor": cursor}, headers=admin_headers
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["query", "cursor"]


async def test_a_cursor_of_another_sort_or_with_an_offset_is_refused(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    for name in ["a", "b", "c"]:
        await create_integration(client, admin_headers, name=name)
    first = await client.get(
        f"{API}/integrations", params={"sort": "name", "limit": 1}, headers=admin_headers
    )
    cursor = first.json()["next_cursor"]
    assert cursor
    other_sort = await client.get(
        f"{API}/integrations",
        params={"sort": "-created_at", "cursor": cursor},
        headers=admin_headers,
    )
    assert_problem(other_sort, 422)
    with_offset = await client.get(
        f"{API}/integrations",
        params={"sort": "name", "cursor": cursor, "offset": 1},
        headers=admin_headers,
    )
    assert_problem(with_offset, 422)
    nul = await client.get(
        f"{API}/integrations",
        params={"sort": "name", "cursor": _cursor("integrations+name", "a\x00", "x")},
        headers=admin_headers,
    )
    assert_problem(nul, 422)


async def test_token_counts_follow_every_kind_of_change(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    integration = await create_integration(client, admin_headers)
    url = integration_url(integration["id"])
    issued = [
        await issue_token(client, admin_headers, integration["id"], name=f"t{i}") for i in range(8)
    ]
    ids = [i["token"]["id"] for i in issued]
    await expire_token(app, ids[0])
    await client.post(tokens_url(integration["id"], f"/{ids[1]}/revoke"), headers=admin_headers)
    await client.post(
        tokens_url(integration["id"], "/revoke"),
        json={"token_ids": [ids[1], ids[2], ids[3]]},
        headers=admin_headers,
    )
    regenerated = await client.post(
        tokens_url(integration["id"], f"/{ids[4]}/regenerate"), headers=admin_headers
    )
    assert regenerated.status_code == 201
    leaked = await client.post(
        f"{API}/leaked-tokens", json={"secrets": [issued[5]["secret"]]}, headers=admin_headers
    )
    assert leaked.json()["revoked"] == 1

    async def counts_match_the_rows() -> dict[str, int]:
        body = (await client.get(url, headers=admin_headers)).json()
        rows = await stored_tokens(app, integration["id"])
        revoked = sum(1 for t in rows if t.revoked_at is not None)
        assert body["token_counts"] == {
            "active": len(rows) - revoked - 1,
            "expired": 1,
            "revoked": revoked,
        }
        return body["token_counts"]  # type: ignore[no-any-return]

    assert await counts_match_the_rows() == {"active": 3, "expired": 1, "revoked": 5}
    revoke_all = await client.post(
        tokens_url(integration["id"], "/revoke"), json={"all": True}, headers=admin_headers
    )
    assert revoke_all.json()["revoked_count"] == 3
    assert await counts_match_the_rows() == {"active": 0, "expired": 1, "revoked": 8}


async def test_revoke_all_names_at_most_the_cap_and_audits_every_token(
    client: httpx.AsyncClient, admin_headers: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.tokens.service.MAX_LISTED_IDS", 2)
    integration = await create_integration(client, admin_headers)
    ids = [
        (await issue_token(client, admin_headers, integration["id"], name=f"t{i}"))["token"]["id"]
        for i in range(5)
    ]
    response = await client.post(
        tokens_url(integration["id"], "/revoke"), json={"all": True}, headers=admin_headers
    )
    body = response.json()
    assert body["revoked"] == ids[:2]  # the oldest first
    assert body["revoked_count"] == 5
    assert body["truncated"] is True
    again = await client.post(
        tokens_url(integration["id"], "/revoke"), json={"all": True}, headers=admin_headers
    )
    assert again.json()["already_inactive"] == ids[:2]
    assert again.json()["already_inactive_count"] == 5
    events = (
        await client.get(
            f"{API}/audit-events",
            params={"integration_id": integration["id"], "action": "token.revoked"},
            headers=admin_headers,
        )
    ).json()["items"]
    assert sorted(e["token_id"] for e in events) == sorted(ids)
    assert all(
        e["details"]
        == {
            "name": e["details"]["name"],
            "hint": e["details"]["hint"],
            "reason": "revoked",
            "mass": True,
        }
        for e in events
    )
    listed = await client.get(
        tokens_url(integration["id"]), params={"status": "revoked"}, headers=admin_headers
    )
    assert listed.json()["total"] == 5


async def test_a_capped_total_says_it_is_not_exact(
    client: httpx.AsyncClient, admin_headers: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.db.repository.COUNT_CAP", 3)
    integration = await create_integration(client, admin_headers)
    for i in range(5):
        await issue_token(client, admin_headers, integration["id"], name=f"deploy {i}")
    by_name = await client.get(
        tokens_url(integration["id"]), params={"q": "deploy"}, headers=admin_headers
    )
    assert by_name.json()["total"] == 3
    assert by_name.json()["total_exact"] is False
    unfiltered = await client.get(tokens_url(integration["id"]), headers=admin_headers)
    assert (unfiltered.json()["total"], unfiltered.json()["total_exact"]) == (5, True)
