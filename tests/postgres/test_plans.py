"""Every management read of a large integration reads an index, never a whole table.

Seeds realistic row counts (20,000 tokens in one integration, 30,000 audit events of
which a third are the big integration's and the rest spread over 500 others),
VACUUM ANALYZEs (as autovacuum would), drives the API, and EXPLAINs each statement it
sent with the parameters it sent:
no sequential scan of ``access_tokens`` or ``audit_events``, except one stopped early by
a LIMIT without a filter (the capped count of an unfiltered list). No planner settings
are changed: the plans are the ones production would get, custom and generic.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from tests.api.helpers import API, integration_url, tokens_url
from tests.fixtures.api import create_integration, state
from tests.fixtures.database import backend

pytestmark = pytest.mark.skipif(backend() != "postgres", reason="PostgreSQL's plans")

BIG_TABLES = {"access_tokens", "audit_events"}

SEED = """
INSERT INTO access_tokens (id, integration_id, name, name_key, token_digest, hint,
                           expiration_policy, expires_at, created_at, revoked_at,
                           revocation_reason)
SELECT gen_random_uuid(),
       CASE WHEN i <= 20000 THEN CAST(:big AS uuid) ELSE CAST(:small AS uuid) END,
       CASE WHEN i % 1000 = 7 THEN 'Rare connector ' || i ELSE 'Deploy ' || i END,
       CASE WHEN i % 1000 = 7 THEN 'rare connector ' || i ELSE 'deploy ' || i END,
       sha256(('plan' || i)::bytea), 'ssg_abcd…wxyz', '90d',
       CASE WHEN i % 10 = 0 THEN now() - interval '1 day'
            ELSE now() + interval '30 days' END,
       now() - i * interval '1 minute',
       CASE WHEN i % 10 = 1 THEN now() END, CASE WHEN i % 10 = 1 THEN 'revoked' END
FROM generate_series(1, 30000) i;
INSERT INTO audit_events (id, at, actor, action, integration_id, token_id, details)
SELECT gen_random_uuid(), now() - i * interval '1 second', 'admin:plans',
       CASE WHEN i % 1000 = 7 THEN 'introspection_client.revoked' ELSE 'token.issued' END,
       CASE WHEN i % 3 = 0 THEN CAST(:big AS uuid)
            ELSE md5('integration' || i % 500)::uuid END,
       gen_random_uuid(), '{}'
FROM generate_series(1, 30000) i;
UPDATE integrations SET
  token_count = (SELECT count(*) FROM access_tokens t WHERE t.integration_id = integrations.id),
  revoked_token_count = (SELECT count(*) FROM access_tokens t
                         WHERE t.integration_id = integrations.id AND revoked_at IS NOT NULL);
"""


@contextmanager
def sent_statements(app: FastAPI) -> Iterator[list[tuple[str, Any]]]:
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and any(
            table in statement for table in BIG_TABLES
        ):
            sent.append((statement, parameters))

    engine = state(app).engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def full_scans(plan: dict[str, Any], parent: str | None = None) -> list[str]:
    found = []
    if plan["Node Type"] == "Seq Scan" and plan.get("Relation Name") in BIG_TABLES:
        bounded = parent == "Limit" and "Filter" not in plan
        if not bounded:
            found.append(f"{plan['Relation Name']} (filter {plan.get('Filter')})")
    for child in plan.get("Plans", []):
        found += full_scans(child, plan["Node Type"])
    return found


async def test_management_reads_of_a_large_integration_use_indexes(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    big = (await create_integration(client, admin_headers, name="big"))["id"]
    small = (await create_integration(client, admin_headers, name="small"))["id"]
    async with state(app).engine.begin() as connection:
        for statement in filter(str.strip, SEED.split(";")):
            await connection.execute(
                text(statement), {"big": uuid.UUID(big), "small": uuid.UUID(small)}
            )
    # As autovacuum leaves them in production: statistics and the visibility map.
    async with state(app).engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("access_tokens", "audit_events", "integrations"):
            await autocommit.execute(text(f"VACUUM ANALYZE {table}"))
    deep = (await client.get(tokens_url(big), params={"limit": 500}, headers=admin_headers)).json()[
        "next_cursor"
    ]
    deep_audit = (
        await client.get(f"{API}/audit-events", params={"limit": 500}, headers=admin_headers)
    ).json()["next_cursor"]
    some_ids = [
        t["id"]
        for t in (
            await client.get(tokens_url(big), params={"limit": 20}, headers=admin_headers)
        ).json()["items"]
    ]
    reads = [
        integration_url(big),
        f"{API}/integrations",
        tokens_url(big),
        tokens_url(big) + "?status=active",
        tokens_url(big) + "?status=expired",
        tokens_url(big) + "?status=revoked",
        tokens_url(big) + "?q=connector",
        tokens_url(big) + f"?cursor={deep}",
        f"{API}/audit-events",
        f"{API}/audit-events?integration_id={big}",
        f"{API}/audit-events?token_id={uuid.uuid4()}",
        f"{API}/audit-events?action=introspection_client.revoked",
        f"{API}/audit-events?cursor={deep_audit}",
    ]
    with sent_statements(app) as sent:
        for url in reads:
            response = await client.get(url, headers=admin_headers)
            assert response.status_code == 200, (url, response.text)
        response = await client.post(
            tokens_url(big, "/revoke"), json={"token_ids": some_ids}, headers=admin_headers
        )
        assert response.status_code == 200
    assert len(sent) >= len(reads)
    problems = []
    async with state(app).engine.connect() as connection:
        for statement, parameters in sent:
            result = await connection.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + statement, parameters
            )
            plan = result.scalar_one()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            for scan in full_scans(plan[0]["Plan"]):
                problems.append(f"{scan}: {statement}")
    # asyncpg prepares every statement, and after five runs PostgreSQL may reuse a generic
    # plan made without the parameters' values: check those plans too.
    raw = await asyncpg.connect(asyncpg_dsn(state(app).settings.database_url))
    try:
        await raw.execute("SET plan_cache_mode = force_generic_plan")
        for number, (statement, parameters) in enumerate(sent):
            await raw.execute(f"PREPARE generic_{number} AS {statement}")
            arguments = ", ".join(sql_literal(value) for value in parameters)
            plan = json.loads(
                await raw.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE generic_{number}({arguments})")
            )
            for scan in full_scans(plan[0]["Plan"]):
                problems.append(f"generic plan: {scan}: {statement}")
    finally:
        await raw.close()
    assert problems == [], "\n".join(problems)


def sql_literal(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "ARRAY[" + ", ".join(sql_literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return f"'\\x{value.hex()}'::bytea"
    if isinstance(value, uuid.UUID):
        return f"'{value}'::uuid"
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    return "'" + str(value).replace("'", "''") + "'"


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
