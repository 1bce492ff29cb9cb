"""POST /api/v1/leaked-tokens: revoke what is ours, notify, audit, answer counts only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from app import token_format
from app.config import Settings
from tests.api.helpers import (
    API,
    assert_problem,
    assert_unauthenticated,
    expire_token,
    forbid_server_errors,
    integration_url,
    snapshot,
    tokens_url,
)
from tests.api.mail import (
    Inbox,
    assert_no_secret,
    body_of,
    free_port,
    make_sender,
    outbox,
    smtp_server,
    smtp_settings,
)
from tests.fixtures.api import create_integration, is_active, issue_token, state

Headers = dict[str, str]
URL = f"{API}/leaked-tokens"
COUNT_KEYS = {"revoked", "already_inactive", "unknown"}


@pytest.fixture(autouse=True)
def _no_server_errors(client: httpx.AsyncClient) -> None:
    forbid_server_errors(client)


async def report(client: httpx.AsyncClient, headers: Headers, secrets: list[Any]) -> dict[str, int]:
    response = await client.post(URL, json={"secrets": secrets}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()
    assert body.keys() == COUNT_KEYS
    return body


async def get_token(
    client: httpx.AsyncClient, headers: Headers, issued: dict[str, Any]
) -> dict[str, Any]:
    token = issued["token"]
    response = await client.get(
        tokens_url(token["integration_id"], f"/{token['id']}"), headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
async def estate(client: httpx.AsyncClient, admin_headers: Headers) -> dict[str, Any]:
    """Three integrations (one inactive) with tokens in every state."""
    alpha = await create_integration(
        client, admin_headers, name="Alpha", notification_email="alpha@example.com"
    )
    beta = await create_integration(
        client, admin_headers, name="Beta", notification_email="beta@example.com"
    )
    gamma = await create_integration(
        client, admin_headers, name="Gamma", notification_email="gamma@example.com"
    )
    tokens = {
        "a1": await issue_token(client, admin_headers, alpha["id"], name="a1"),
        "a2": await issue_token(client, admin_headers, alpha["id"], name="a2"),
        "a-revoked": await issue_token(client, admin_headers, alpha["id"], name="a-revoked"),
        "a-expired": await issue_token(client, admin_headers, alpha["id"], name="a-expired"),
        "a-untouched": await issue_token(client, admin_headers, alpha["id"], name="a-untouched"),
        "b1": await issue_token(client, admin_headers, beta["id"], name="b1"),
        "g1": await issue_token(client, admin_headers, gamma["id"], name="g1"),
    }
    revoked = tokens["a-revoked"]["token"]
    response = await client.post(
        tokens_url(alpha["id"], f"/{revoked['id']}/revoke"), headers=admin_headers
    )
    assert response.status_code == 200
    response = await client.patch(
        integration_url(gamma["id"]), json={"active": False}, headers=admin_headers
    )
    assert response.status_code == 200
    return {"integrations": {"alpha": alpha, "beta": beta, "gamma": gamma}, "tokens": tokens}


def secret(estate: dict[str, Any], name: str) -> str:
    return str(estate["tokens"][name]["secret"])


async def test_revokes_ours_and_answers_counts_only(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers, estate: dict[str, Any]
) -> None:
    await expire_token(app, estate["tokens"]["a-expired"]["token"]["id"])
    unknown_but_well_formed = token_format.generate()
    secrets = [
        secret(estate, "a1"),
        secret(estate, "a2"),
        secret(estate, "b1"),
        secret(estate, "g1"),  # its integration is switched off: revoked all the same
        secret(estate, "a-revoked"),
        secret(estate, "a-expired"),
        unknown_but_well_formed,
        "ssg_not-a-token",
        secret(estate, "a1"),  # reported twice: counts once
        f"  {secret(estate, 'a2')}\n",  # as pasted from a scanner's output
        secret(estate, "a1")[:-1] + ("x" if secret(estate, "a1")[-1] != "x" else "y"),
    ]
    response = await client.post(URL, json={"secrets": secrets}, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 4, "already_inactive": 2, "unknown": 3}
    for value in secrets:  # nothing echoed, and nothing that says whose a secret was
        assert value.strip() not in response.text
    for integration in estate["integrations"].values():
        assert integration["id"] not in response.text
        assert integration["name"] not in response.text

    for name in ("a1", "a2", "b1", "g1"):
        token = await get_token(client, admin_headers, estate["tokens"][name])
        assert token["status"] == "revoked"
        assert token["revocation_reason"] == "leaked"
        assert token["revoked_at"] is not None
    assert (await get_token(client, admin_headers, estate["tokens"]["a-revoked"]))[
        "revocation_reason"
    ] == "revoked"
    expired = await get_token(client, admin_headers, estate["tokens"]["a-expired"])
    assert (expired["status"], expired["revocation_reason"]) == ("expired", None)
    untouched = await get_token(client, admin_headers, estate["tokens"]["a-untouched"])
    assert untouched["status"] == "active"


async def test_a_leaked_secret_introspects_inactive_at_once(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    gateway_headers: Headers,
    estate: dict[str, Any],
) -> None:
    leaked, other = secret(estate, "b1"), secret(estate, "a1")
    assert await is_active(client, gateway_headers, leaked) is True  # now in the cache
    assert await is_active(client, gateway_headers, other) is True
    await report(client, admin_headers, [leaked])
    assert await is_active(client, gateway_headers, leaked) is False
    assert await is_active(client, gateway_headers, other) is True


async def test_a_leaked_token_stays_revoked_when_its_integration_is_reactivated(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    gateway_headers: Headers,
    estate: dict[str, Any],
) -> None:
    assert await report(client, admin_headers, [secret(estate, "g1")]) == {
        "revoked": 1,
        "already_inactive": 0,
        "unknown": 0,
    }
    gamma = estate["integrations"]["gamma"]
    response = await client.patch(
        integration_url(gamma["id"]), json={"active": True}, headers=admin_headers
    )
    assert response.status_code == 200
    assert await is_active(client, gateway_headers, secret(estate, "g1")) is False


async def test_reporting_again_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers, estate: dict[str, Any]
) -> None:
    secrets = [secret(estate, "a1"), secret(estate, "b1")]
    await report(client, admin_headers, secrets)
    notices = len(await outbox(app))
    state = await snapshot(client, admin_headers)
    assert await report(client, admin_headers, secrets) == {
        "revoked": 0,
        "already_inactive": 2,
        "unknown": 0,
    }
    assert len(await outbox(app)) == notices
    after = await snapshot(client, admin_headers)
    assert after["tokens"] == state["tokens"]


async def test_one_notice_per_affected_integration_without_secrets(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    estate: dict[str, Any],
    settings: Settings,
) -> None:
    before = {m.id for m in await outbox(app)}
    await report(
        client,
        admin_headers,
        [secret(estate, n) for n in ("a1", "a2", "b1", "a-revoked")] + [token_format.generate()],
    )
    notices = [m for m in await outbox(app) if m.id not in before]
    assert sorted((m.recipient, m.kind) for m in notices) == [
        ("alpha@example.com", "tokens.leaked"),
        ("beta@example.com", "tokens.leaked"),
    ]

    port, inbox = free_port(), Inbox()
    sender = make_sender(app, smtp_settings(settings, port))
    with smtp_server(port, inbox):
        await sender.send_pending()
    mails = {mail["To"]: mail for mail in inbox.messages if "leaked" in mail["Subject"]}
    assert mails.keys() == {"alpha@example.com", "beta@example.com"}
    alpha = body_of(mails["alpha@example.com"])
    tokens = estate["tokens"]
    for name in ("a1", "a2"):
        assert tokens[name]["token"]["hint"] in alpha
    assert tokens["b1"]["token"]["hint"] not in alpha  # each hears only of its own tokens
    assert tokens["a-revoked"]["token"]["hint"] not in alpha
    assert "2 leaked access tokens revoked" in mails["alpha@example.com"]["Subject"]
    assert "admin:admin" in alpha
    assert "What to do next" in alpha
    assert "Alpha" in alpha
    beta = body_of(mails["beta@example.com"])
    assert tokens["b1"]["token"]["hint"] in beta
    assert "Alpha" not in beta
    assert_no_secret(inbox.messages, [t["secret"] for t in tokens.values()])


async def test_every_revocation_is_audited_without_secrets(
    client: httpx.AsyncClient, admin_headers: Headers, estate: dict[str, Any]
) -> None:
    secrets = [secret(estate, "a1"), secret(estate, "b1"), "garbage"]
    await report(client, admin_headers, secrets)
    response = await client.get(
        f"{API}/audit-events", params={"action": "token.revoked"}, headers=admin_headers
    )
    leaked = [e for e in response.json()["items"] if e["details"].get("reason") == "leaked"]
    assert {e["token_id"] for e in leaked} == {
        estate["tokens"][n]["token"]["id"] for n in ("a1", "b1")
    }
    for audit_event in leaked:
        assert audit_event["actor"] == "admin:admin"
        token = next(
            t["token"]
            for t in estate["tokens"].values()
            if t["token"]["id"] == audit_event["token_id"]
        )
        assert audit_event["integration_id"] == token["integration_id"]
        assert audit_event["details"] == {
            "name": token["name"],
            "hint": token["hint"],
            "reason": "leaked",
        }
    response = await client.get(
        f"{API}/audit-events", params={"action": "leaked_tokens.reported"}, headers=admin_headers
    )
    [summary] = response.json()["items"]
    assert summary["details"] == {"revoked": 2, "already_inactive": 0, "unknown": 1}
    assert summary["integration_id"] is None
    everything = await client.get(
        f"{API}/audit-events", params={"limit": 500}, headers=admin_headers
    )
    for value in secrets:
        assert value not in everything.text
        assert value.split("_", 1)[-1] not in everything.text


async def test_viewers_and_strangers_may_not_report(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    viewer_headers: Headers,
    estate: dict[str, Any],
) -> None:
    body = {"secrets": [secret(estate, "a1")]}
    state = await snapshot(client, admin_headers)
    assert_problem(await client.post(URL, json=body, headers=viewer_headers), 403)
    assert_unauthenticated(await client.post(URL, json=body))
    assert_unauthenticated(
        await client.post(
            URL, json=body, headers={"Authorization": f"Bearer {secret(estate, 'a1')}"}
        )
    )
    assert await snapshot(client, admin_headers) == state


@pytest.mark.parametrize(
    "body",
    [
        {"secrets": []},
        {"secrets": ["ssg_x"] * 1001},
        {},
        {"secrets": "ssg_x"},
        {"secrets": [123]},
        {"secrets": [None]},
        {"secrets": ["ssg_x"], "integration_id": str(uuid.uuid4())},
    ],
)
async def test_bad_input_is_422(
    client: httpx.AsyncClient, admin_headers: Headers, body: dict[str, Any]
) -> None:
    problem = assert_problem(await client.post(URL, json=body, headers=admin_headers), 422)
    assert "ssg_x" not in str(problem)


@contextmanager
def count_statements(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = state(app).engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_thousand_secrets_take_a_few_bulk_statements(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    integrations = [
        await create_integration(client, admin_headers, name=f"Bulk {n}") for n in range(3)
    ]
    ours = [
        (await issue_token(client, admin_headers, integrations[n % 3]["id"], name=f"t{n}"))[
            "secret"
        ]
        for n in range(30)
    ]
    strangers = [token_format.generate() for _ in range(960)]
    garbage = [f"ssg_garbage_{n}" for n in range(10)]
    before = len(await outbox(app))
    with count_statements(app) as statements:
        counts = await report(client, admin_headers, ours + strangers + garbage)
    assert counts == {"revoked": 30, "already_inactive": 0, "unknown": 970}
    # Bulk lookups, updates and inserts: the statement count does not grow with the input.
    assert len(statements) <= 15, len(statements)
    assert len(await outbox(app)) == before + 3  # one notice per integration
