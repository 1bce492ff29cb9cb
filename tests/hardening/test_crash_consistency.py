"""kill -9 of a real server process in the middle of a write: all or nothing, always.

A 1000-token mass revoke and a regenerate each run in one transaction, committed before
the response is sent. Whatever moment the process dies at, afterwards the operation is
either wholly applied (every token revoked and audited, or old token revoked and its
successor stored) or not at all; and every secret a client did receive can be found by
its digest.

On PostgreSQL the kill lands deterministically inside the transaction: the test holds a
lock on ``audit_events`` (written last, at commit), waits until the server's backend is
stuck on it with its token changes made, and kills the process there. On both backends
the kill also lands at a spread of moments during a real request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from app import token_format
from app.audit.models import AuditEvent
from app.db.base import utc_now
from app.db.session import begin_write
from app.integrations.models import Integration
from app.tokens.models import AccessToken, ExpirationPolicy
from devkit.server import HttpClient, RunningServer, uvicorn_server
from tests.fixtures.api import state
from tests.fixtures.database import backend
from tests.hardening.helpers import server_env

pytestmark = pytest.mark.process

TOKENS = 1000
API = "/api/v1"


@contextmanager
def server(database_url: str) -> Iterator[RunningServer]:
    with uvicorn_server(server_env(database_url)) as running:
        yield running


def kill(running: RunningServer) -> None:
    os.kill(running.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(running.pid, 0)
        except ProcessLookupError:
            return
        try:  # a zombie until our Popen reaps it: good enough, it runs no more
            with open(f"/proc/{running.pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.01)
    raise AssertionError("the server survived kill -9")


async def seed(app: FastAPI, count: int) -> tuple[uuid.UUID, list[uuid.UUID], list[str]]:
    """An integration with ``count`` active tokens, written in bulk."""
    now = utc_now()
    integration = Integration(
        id=uuid.uuid4(),
        name=f"crash-{uuid.uuid4().hex[:8]}",
        name_key=f"crash-{uuid.uuid4().hex}",
        description="",
        notification_email="crash@example.com",
        active=True,
        created_at=now,
        updated_at=now,
    )
    secrets = [token_format.generate() for _ in range(count)]
    tokens = [
        AccessToken(
            id=uuid.uuid4(),
            integration_id=integration.id,
            name=f"t{i}",
            name_key=f"t{i}",
            token_digest=token_format.digest(secret),
            hint=token_format.hint(secret),
            expiration_policy=ExpirationPolicy.NEVER,
            created_at=now,
        )
        for i, secret in enumerate(secrets)
    ]
    async with state(app).sessionmaker() as session:
        await begin_write(session)
        session.add(integration)
        await session.flush()
        session.add_all(tokens)
        await session.commit()
    return integration.id, [t.id for t in tokens], secrets


async def revoked_and_audited(app: FastAPI, integration_id: uuid.UUID) -> tuple[int, int]:
    revoked = sum(t.revoked_at is not None for t in await tokens_of(app, integration_id))
    return revoked, await audit_count(app, integration_id, "token.revoked")


def send_in_background(
    running: RunningServer, method: str, path: str, payload: Any, headers: dict[str, str]
) -> concurrent.futures.Future[tuple[int, Any]]:
    """The request, sent from a thread; its future fails if the server dies first."""

    def call() -> tuple[int, Any]:
        http = HttpClient(running.port)
        http.connection.timeout = 60
        try:
            return http.json(method, path, payload, headers)
        finally:
            http.close()

    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = executor.submit(call)
    executor.shutdown(wait=False)
    return future


async def outcome(future: concurrent.futures.Future[tuple[int, Any]]) -> int | None:
    """The status the client received, or None if the server died before answering."""
    try:
        status, _ = await asyncio.wrap_future(future)
    except Exception:  # the connection died with the server
        return None
    return status


async def no_writer_left(app: FastAPI, timeout: float = 30) -> None:
    """Wait until no transaction of the dead server can still commit (PostgreSQL).

    Its backends notice the closed socket and roll back; one that had already received
    COMMIT finishes it. Either way, once no other backend holds a transaction id, what
    the database shows is final.
    """
    if state(app).engine.dialect.name != "postgresql":
        return  # SQLite: the dead process's transaction is gone with it (WAL recovery)
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
    )
    async with asyncio.timeout(timeout):
        while True:
            async with state(app).engine.connect() as connection:
                if (await connection.execute(query)).scalar() == 0:
                    return
            await asyncio.sleep(0.01)


async def tokens_of(app: FastAPI, integration_id: uuid.UUID) -> list[AccessToken]:
    async with state(app).sessionmaker() as session:
        result = await session.execute(
            select(AccessToken).where(AccessToken.integration_id == integration_id)
        )
        return list(result.scalars().all())


async def audit_count(app: FastAPI, integration_id: uuid.UUID, action: str) -> int:
    async with state(app).sessionmaker() as session:
        statement = (
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.integration_id == integration_id, AuditEvent.action == action)
        )
        return int((await session.execute(statement)).scalar_one())


# --- at any moment: the kill lands wherever it lands ---------------------------------


async def test_mass_revoke_killed_at_any_moment_is_all_or_nothing(
    app: FastAPI, database_url: str, admin_headers: dict[str, str]
) -> None:
    def mass_revoke(running: RunningServer, integration_id: uuid.UUID, ids: list[uuid.UUID]):
        return send_in_background(
            running,
            "POST",
            f"{API}/integrations/{integration_id}/tokens/revoke",
            {"token_ids": [str(i) for i in ids]},
            admin_headers,
        )

    # One uninterrupted run, to know how long the request takes here.
    integration_id, token_ids, _ = await seed(app, TOKENS)
    with server(database_url) as running:
        started = time.monotonic()
        assert await outcome(mass_revoke(running, integration_id, token_ids)) == 200
        duration = time.monotonic() - started
    assert await revoked_and_audited(app, integration_id) == (TOKENS, TOKENS)

    for fraction in (0.1, 0.4, 0.7, 1.0):
        integration_id, token_ids, _ = await seed(app, TOKENS)
        with server(database_url) as running:
            future = mass_revoke(running, integration_id, token_ids)
            await asyncio.sleep(duration * fraction)
            kill(running)
            status = await outcome(future)
        await no_writer_left(app)
        state = await revoked_and_audited(app, integration_id)
        assert state in ((0, 0), (TOKENS, TOKENS)), f"half-applied: {state}"
        if status == 200:
            assert state == (TOKENS, TOKENS), "answered 200 but not durable"


async def test_regenerations_killed_at_any_moment_lose_no_secret(
    app: FastAPI, database_url: str, admin_headers: dict[str, str]
) -> None:
    integration_id, (first_id,), _ = await seed(app, 1)
    received: list[dict[str, Any]] = []

    def regenerate_forever(port: int) -> None:
        http = HttpClient(port)
        current = str(first_id)
        try:
            while True:
                path = f"{API}/integrations/{integration_id}/tokens/{current}/regenerate"
                status, body = http.json("POST", path, None, admin_headers)
                assert status == 201, body
                received.append(body)
                current = body["token"]["id"]
        except (OSError, ConnectionError, json.JSONDecodeError):
            return  # the server died under us
        finally:
            http.close()

    with server(database_url) as running:
        future = asyncio.get_running_loop().run_in_executor(None, regenerate_forever, running.port)
        async with asyncio.timeout(30):
            while len(received) < 5:
                await asyncio.sleep(0.005)
        kill(running)
        await future
    await no_writer_left(app)

    tokens = {t.id: t for t in await tokens_of(app, integration_id)}
    by_digest = {t.token_digest: t for t in tokens.values()}
    for body in received:  # every secret a client got is there, by its digest
        stored = by_digest.get(token_format.digest(body["secret"]))
        assert stored is not None, "a secret was issued that cannot be found"
        assert str(stored.id) == body["token"]["id"]
    # One chain from the first token: each revoked as "regenerated" by exactly its successor.
    chain = [tokens[first_id]]
    while chain[-1].replaced_by is not None:
        chain.append(tokens[chain[-1].replaced_by])
    assert len(chain) == len(tokens), "a token outside the chain: half a regenerate"
    assert [t.revoked_at is None for t in chain] == [False] * (len(chain) - 1) + [True]
    assert all(t.revocation_reason == "regenerated" for t in chain[:-1])
    assert await audit_count(app, integration_id, "token.regenerated") == len(chain) - 1
    assert len(chain) - 1 >= len(received)


# --- PostgreSQL: the kill lands inside the transaction, deterministically --------------

postgres_only = pytest.mark.skipif(
    backend() != "postgres", reason="needs PostgreSQL's locks to stop a transaction midway"
)


async def kill_while_blocked_on_audit(
    app: FastAPI, running: RunningServer, future: concurrent.futures.Future[tuple[int, Any]]
) -> None:
    """With audit_events locked by the caller: wait for the server's transaction to be
    stuck on it (its other changes made), kill the process there."""
    blocked = text(
        "SELECT l.pid, a.backend_xid IS NOT NULL FROM pg_locks AS l "
        "JOIN pg_stat_activity AS a ON a.pid = l.pid "
        "WHERE l.relation = 'audit_events'::regclass AND NOT l.granted"
    )
    async with asyncio.timeout(30):
        while True:
            async with state(app).engine.connect() as connection:
                row = (await connection.execute(blocked)).first()
            if row is not None:
                break
            await asyncio.sleep(0.01)
    _, has_written = row
    assert has_written, "the transaction had made its changes when it was stopped"
    kill(running)
    assert await outcome(future) is None, "no answer can have left a dead process"


@postgres_only
async def test_mass_revoke_killed_inside_its_transaction_applies_nothing(
    app: FastAPI, database_url: str, admin_headers: dict[str, str]
) -> None:
    integration_id, token_ids, _ = await seed(app, TOKENS)
    with server(database_url) as running:
        async with state(app).engine.connect() as blocker:
            transaction = await blocker.begin()
            await blocker.execute(text("LOCK TABLE audit_events IN SHARE MODE"))
            future = send_in_background(
                running,
                "POST",
                f"{API}/integrations/{integration_id}/tokens/revoke",
                {"token_ids": [str(i) for i in token_ids]},
                admin_headers,
            )
            await kill_while_blocked_on_audit(app, running, future)
            await transaction.rollback()
    await no_writer_left(app)
    assert await revoked_and_audited(app, integration_id) == (0, 0)


@postgres_only
async def test_regenerate_killed_inside_its_transaction_applies_nothing(
    app: FastAPI, database_url: str, admin_headers: dict[str, str]
) -> None:
    integration_id, (token_id,), (secret,) = await seed(app, 1)
    with server(database_url) as running:
        async with state(app).engine.connect() as blocker:
            transaction = await blocker.begin()
            await blocker.execute(text("LOCK TABLE audit_events IN SHARE MODE"))
            future = send_in_background(
                running,
                "POST",
                f"{API}/integrations/{integration_id}/tokens/{token_id}/regenerate",
                None,
                admin_headers,
            )
            await kill_while_blocked_on_audit(app, running, future)
            await transaction.rollback()
    await no_writer_left(app)
    (only,) = await tokens_of(app, integration_id)  # no successor was stored
    assert only.id == token_id
    assert only.revoked_at is None
    assert only.token_digest == token_format.digest(secret)
    assert await audit_count(app, integration_id, "token.regenerated") == 0
