"""``make bench-scale``: management reads and mass revocations at 100× the data (issue 13).

Two data sets, seeded in SQL (``generate_series``) and cached as PostgreSQL template
databases (``gi_scale_tpl_<size>_<hash of seed and migrations>``), so a rerun copies them in
seconds instead of seeding again:

* small: 100 integrations, 10,000 tokens (2,000 in one integration), 10,000 audit events;
* large: 10,000 integrations, 1,000,000 tokens (200,000 in one), 1,000,000 audit events.

Tokens are 80% active, 10% expired, 10% revoked; one in 1,000 is named "Rare connector …".
Each size runs in a fresh copy of its template, served by a real ``python -m app serve``
with one worker; both servers run at once and requests alternate between them, so the
noise of a shared machine falls on both sizes alike. Per operation: median and p95 at each
size and the growth ratio of the medians (target ≤ 3× for reads). Then, on the large set: revoke ``{"all": true}`` of the big
integration while four clients introspect other tokens on the same worker (their p99 and
max during the revoke; target p99 ≤ 100 ms), and the expiry scan's pass time at each size.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import secrets
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import asyncpg
from sqlalchemy.engine import make_url

from app.notifications.repository import SCAN_LOCK_KEY
from app.schemas import Keyset
from bench import cache_rss, connections
from bench.run import PASSWORD, login
from bench.seed import TOKEN_COLUMNS, fast_secret
from devkit.server import ROOT, HttpClient, RunningServer, run_cli, uvicorn_server

SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REPEATS = int(os.environ.get("BENCH_REPEATS", "30"))
WARMUP = 3
SIZES = {"small": 0.01, "large": 1.0}
INTROSPECTION_CLIENTS = 4
GATEWAY_TOKENS = 400

# The big integration and the ids of seeded rows are derived from their sequence number.
SEED_SQL = """
INSERT INTO integrations (id, name, name_key, description, notification_email, active,
                          created_at, updated_at)
SELECT md5('int' || i)::uuid, n, lower(n), '', 'ops@example.com', i % 10 <> 3,
       now() - i * interval '1 hour', now()
FROM generate_series(1, {n_int}) i,
     LATERAL (SELECT CASE WHEN i % 100 = 42 THEN 'Rare partner ' || i
                          ELSE 'Integration ' || i END AS n) names;

INSERT INTO access_tokens (id, integration_id, name, name_key, token_digest, hint,
                           expiration_policy, expires_at, created_at, revoked_at,
                           revocation_reason)
SELECT md5('tok' || i)::uuid,
       CASE WHEN i <= {n_big} THEN md5('int1')::uuid
            ELSE md5('int' || (2 + i % ({n_int} - 1)))::uuid END,
       n, lower(n), sha256(('tok' || i)::bytea),
       'ssg_' || substr(md5(i::text), 1, 4) || '…' || substr(md5(i::text), 5, 4),
       CASE WHEN i % 10 = 9 THEN 'never' ELSE '90d' END,
       CASE WHEN i % 10 = 0 THEN now() - (i % 30) * interval '1 day' - interval '1 hour'
            WHEN i % 10 = 9 THEN NULL
            ELSE now() + (i % 120) * interval '1 day' + interval '1 hour' END,
       now() - i * interval '30 seconds',
       CASE WHEN i % 10 = 1 THEN now() - i * interval '20 seconds' END,
       CASE WHEN i % 10 = 1 THEN 'revoked' END
FROM generate_series(1, {n_tok}) i,
     LATERAL (SELECT CASE WHEN i % 1000 = 7 THEN 'Rare connector ' || i
                          ELSE (ARRAY['Deploy', 'Billing', 'Sync', 'Reporting', 'Backup',
                                      'CI', 'Webhook', 'Import'])[1 + i % 8] || ' ' || i
                     END AS n) names;

INSERT INTO audit_events (id, at, actor, action, integration_id, token_id, details)
SELECT md5('aud' || i)::uuid, now() - i * interval '10 seconds', 'admin:bench',
       CASE WHEN i % 10000 = 77 THEN 'introspection_client.revoked'
            WHEN i % 10 < 6 THEN 'token.issued'
            WHEN i % 10 < 9 THEN 'token.revoked'
            ELSE 'integration.updated' END,
       CASE WHEN i % 5 = 0 THEN md5('int1')::uuid
            ELSE md5('int' || (2 + i % ({n_int} - 1)))::uuid END,
       md5('tok' || i)::uuid, '{{}}'
FROM generate_series(1, {n_aud}) i;

UPDATE integrations SET token_count = c.total, revoked_token_count = c.revoked
FROM (SELECT integration_id, count(*) AS total,
             count(*) FILTER (WHERE revoked_at IS NOT NULL) AS revoked
      FROM access_tokens GROUP BY integration_id) c
WHERE c.integration_id = integrations.id;
"""

BIG = uuid.UUID(hashlib.md5(b"int1").hexdigest())  # noqa: S324 - an id, not security
TOKENS_KEYSET = Keyset("tokens", [datetime, uuid.UUID])
AUDIT_KEYSET = Keyset("audit-events", [datetime, uuid.UUID])


@dataclass
class Size:
    name: str
    scale: float
    url: str = ""
    timings: dict[str, list[float]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "n_int": int(10_000 * self.scale),
            "n_tok": int(1_000_000 * self.scale),
            "n_big": int(200_000 * self.scale),
            "n_aud": int(1_000_000 * self.scale),
        }


# --- databases ---------------------------------------------------------------------------


def _fingerprint() -> str:
    digest = hashlib.sha256(SEED_SQL.encode())
    for path in sorted((ROOT / "migrations/versions").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _url(database: str) -> str:
    return make_url(SERVER_URL).set(database=database).render_as_string(hide_password=False)


async def _server_execute(*statements: str) -> None:
    connection = await asyncpg.connect(SERVER_URL)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _exists(database: str) -> bool:
    connection = await asyncpg.connect(SERVER_URL)
    try:
        return bool(
            await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        )
    finally:
        await connection.close()


async def _templates(size_name: str) -> list[str]:
    connection = await asyncpg.connect(SERVER_URL)
    try:
        rows = await connection.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", f"gi_scale_tpl_{size_name}_%"
        )
        return [row[0] for row in rows]
    finally:
        await connection.close()


def ensure_template(size: Size) -> str:
    """The template database of ``size``, seeded once per seed/migrations fingerprint."""
    name = f"gi_scale_tpl_{size.name}_{_fingerprint()}"
    if asyncio.run(_exists(name)):
        print(f"{size.name}: reusing template {name}", flush=True)
        return name
    started = time.perf_counter()
    for stale in asyncio.run(_templates(size.name)):  # of older seeds or migrations
        asyncio.run(_server_execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)'))
    building = name + "_building"
    asyncio.run(
        _server_execute(
            f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)', f'CREATE DATABASE "{building}"'
        )
    )
    env = {
        **os.environ,
        "DATABASE_URL": _pg_url(_url(building)),
        "ENVIRONMENT": "test",
        "ISSUER": "https://bench.test",
    }
    run_cli(env, "migrate")

    async def seed() -> None:
        connection = await asyncpg.connect(_url(building))
        try:
            await connection.execute(SEED_SQL.format(**size.counts()))
            await connection.execute("VACUUM ANALYZE")
        finally:
            await connection.close()

    asyncio.run(seed())
    asyncio.run(_server_execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
    print(
        f"{size.name}: seeded template {name} in {time.perf_counter() - started:.0f} s", flush=True
    )
    return name


def _pg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def copy_of(template: str) -> str:
    name = f"gi_scale_run_{secrets.token_hex(4)}"
    asyncio.run(_server_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return _url(name)


def drop(url: str) -> None:
    asyncio.run(_server_execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


async def _sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def _real_tokens(url: str, name: str, count: int) -> list[str]:
    """``count`` tokens with real secrets, in a new integration called ``name``."""
    connection = await asyncpg.connect(url)
    try:
        integration = uuid.uuid4()
        now = datetime.now(UTC)
        await connection.execute(
            "INSERT INTO integrations (id, name, name_key, description, notification_email,"
            " active, created_at, updated_at, token_count) VALUES"
            " ($1, $2, $2, '', 'ops@example.com', true, $3, $3, $4)",
            integration,
            name,
            now,
            count,
        )
        from app import token_format

        kept = [fast_secret() for _ in range(count)]
        await connection.copy_records_to_table(
            "access_tokens",
            records=[
                (
                    uuid.uuid4(),
                    integration,
                    f"load {i}",
                    f"load {i}",
                    token_format.digest(s),
                    token_format.hint(s),
                    "90d",
                    now + timedelta(days=90),
                    now,
                )
                for i, s in enumerate(kept)
            ],
            columns=TOKEN_COLUMNS,
        )
        return kept
    finally:
        await connection.close()


# --- measuring ---------------------------------------------------------------------------


def timed(
    http: HttpClient,
    method: str,
    path: str,
    headers: dict[str, str],
    payload: Any = None,
    expect: int = 200,
) -> tuple[float, Any]:
    started = time.perf_counter()
    if payload is None:
        status, body = http.request(method, path, headers=headers)
    else:
        status, body = http.json(method, path, payload, headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert status == expect, (method, path, status, body)
    return elapsed, body


Operation = tuple[str, Callable[[], float], int]  # label, one timed call, repeats


def interleave(sizes: list[Size], operations: list[list[Operation]]) -> None:
    """Run each operation on every size in turn, request by request.

    Alternating small and large servers spreads the noise of this shared machine (other
    processes, checkpoints) over both sizes alike, so the growth ratio stays meaningful.
    """
    for index, (label, _, repeats) in enumerate(operations[0]):
        calls = [ops[index][1] for ops in operations]
        for _ in range(WARMUP):
            for call in calls:
                call()
        for size in sizes:
            size.timings[label] = []
        for _ in range(repeats):
            for size, call in zip(sizes, calls, strict=True):
                size.timings[label].append(call())
        medians = ", ".join(f"{statistics.median(z.timings[label]):.1f}" for z in sizes)
        print(f"  {label}: {medians} ms", flush=True)


def deep_cursor(url: str, query: str, keyset: Keyset, *args: Any) -> str:
    row = asyncio.run(_sql(url, query, *args))[0]
    cursor = keyset.encode((row[0], row[1]))
    assert cursor is not None
    return cursor


def read_operations(size: Size, http: HttpClient, admin: dict[str, str]) -> list[Operation]:
    def get(path: str) -> Callable[[], float]:
        return lambda: timed(http, "GET", path, admin)[0]

    n = size.counts()
    tokens = f"/api/v1/integrations/{BIG}/tokens"
    deep_token = deep_cursor(
        size.url,
        "SELECT created_at, id FROM access_tokens WHERE integration_id = $1"
        " ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
        TOKENS_KEYSET,
        BIG,
        int(n["n_big"] * 0.75),
    )
    deep_audit = deep_cursor(
        size.url,
        "SELECT at, id FROM audit_events ORDER BY at DESC, id DESC OFFSET $1 LIMIT 1",
        AUDIT_KEYSET,
        int(n["n_aud"] * 0.75),
    )
    rare_token = asyncio.run(_sql(size.url, "SELECT md5('tok' || 5)::uuid"))[0][0]
    reads = {
        "integrations (default sort)": "/api/v1/integrations",
        "integrations ?sort=name": "/api/v1/integrations?sort=name",
        "integrations ?active=false": "/api/v1/integrations?active=false",
        "integrations ?q=rare": "/api/v1/integrations?q=rare",
        "integration (token_counts)": f"/api/v1/integrations/{BIG}",
        "tokens": tokens,
        "tokens ?status=active": f"{tokens}?status=active",
        "tokens ?status=expired": f"{tokens}?status=expired",
        "tokens ?status=revoked": f"{tokens}?status=revoked",
        "tokens ?q=connector": f"{tokens}?q=connector",
        "tokens 75% deep ?cursor=": f"{tokens}?cursor={deep_token}",
        "audit events": "/api/v1/audit-events",
        "audit events ?integration_id=": f"/api/v1/audit-events?integration_id={BIG}",
        "audit events ?token_id=": f"/api/v1/audit-events?token_id={rare_token}",
        "audit events ?action= (rare)": "/api/v1/audit-events?action=introspection_client.revoked",
        "audit events 75% deep ?cursor=": f"/api/v1/audit-events?cursor={deep_audit}",
        # Informative: offset reads what it skips, so it grows with the depth by design.
        "(offset) tokens 75% deep ?offset=": f"{tokens}?offset={int(n['n_big'] * 0.75)}",
    }
    return [(label, get(path), REPEATS) for label, path in reads.items()]


def write_operations(
    size: Size, http: HttpClient, admin: dict[str, str], leaked: list[str]
) -> list[Operation]:
    path = f"/api/v1/integrations/{BIG}"
    flip = iter(range(10**6))
    operations: list[Operation] = [
        (
            "PATCH active=false|true",
            lambda: timed(http, "PATCH", path, admin, {"active": next(flip) % 2 == 1})[0],
            20,
        )
    ]
    # 1000 active ids of the big integration per call, a fresh set each time.
    active = [
        str(r[0])
        for r in asyncio.run(
            _sql(
                size.url,
                "SELECT id FROM access_tokens WHERE integration_id = $1 AND revoked_at IS NULL"
                " AND (expires_at IS NULL OR expires_at > now()) ORDER BY id LIMIT 9000",
                BIG,
            )
        )
    ]
    batches = iter([active[i : i + 1000] for i in range(0, len(active), 1000)])

    def mass_revoke() -> float:
        ids = next(batches, None) or [str(uuid.uuid4()) for _ in range(1000)]
        return timed(http, "POST", f"{path}/tokens/revoke", admin, {"token_ids": ids})[0]

    operations.append(("mass revoke of 1000 ids", mass_revoke, 5))
    reports = iter([leaked[i : i + 1000] for i in range(0, len(leaked), 1000)])

    def report_leaked() -> float:
        return timed(http, "POST", "/api/v1/leaked-tokens", admin, {"secrets": next(reports)})[0]

    operations.append(("POST /leaked-tokens (1000 secrets)", report_leaked, 5))
    return operations


async def restore_big(url: str, since: datetime) -> None:
    """Undo the bench's revokes, deactivation and deletion: back to the seeded state."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "UPDATE access_tokens SET revoked_at = NULL, revocation_reason = NULL"
            " WHERE integration_id = $1 AND revoked_at >= $2",
            BIG,
            since,
        )
        await connection.execute(
            "UPDATE integrations SET active = true, deleted_at = NULL,"
            " revoked_token_count = (SELECT count(*)"
            " FROM access_tokens WHERE integration_id = $1 AND revoked_at IS NOT NULL)"
            " WHERE id = $1",
            BIG,
        )
        await connection.execute("VACUUM ANALYZE access_tokens")
    finally:
        await connection.close()


@dataclass
class RevokeAll:
    size: str
    revoked: int
    seconds: float
    introspections: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def under_load(
    size: Size,
    label: str,
    server: RunningServer,
    admin: dict[str, str],
    gateway: dict[str, str],
    secrets_: list[str],
    request: tuple[str, str, Any, int],
) -> RevokeAll:
    """Run one request (revoke all, delete) while clients introspect other tokens."""
    stop = threading.Event()
    during = threading.Event()
    latencies: list[float] = []

    def load(offset: int) -> None:
        client = HttpClient(server.port)
        i = offset
        while not stop.is_set():
            secret = secrets_[i % len(secrets_)]
            i += INTROSPECTION_CLIENTS
            started = time.perf_counter()
            status, body = client.form("/oauth2/introspect", urlencode({"token": secret}), gateway)
            elapsed = (time.perf_counter() - started) * 1000
            assert status == 200, body
            assert body["active"], body
            if during.is_set():
                latencies.append(elapsed)

    threads = [threading.Thread(target=load, args=(k,)) for k in range(INTROSPECTION_CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    http = HttpClient(server.port)
    http.connection.timeout = 600
    during.set()
    method, path, payload, expect = request
    elapsed, body = timed(http, method, path, admin, payload, expect=expect)
    during.clear()
    stop.set()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies) or [float("nan")]
    return RevokeAll(
        size=f"{size.name}: {label}",
        revoked=body["revoked_count"] if body else -1,
        seconds=elapsed / 1000,
        introspections=len(latencies),
        p50_ms=statistics.median(ordered),
        p99_ms=ordered[max(0, int(len(ordered) * 0.99) - 1)],
        max_ms=ordered[-1],
    )


def expiry_pass(url: str) -> tuple[float, float]:
    """Seconds of a first expiry-scan pass (queues every due warning) and of a second one."""
    from app.db.session import create_engine, create_sessionmaker
    from app.notifications.expiry import scan_expiring_tokens

    async def run() -> tuple[float, float]:
        engine = create_engine(_pg_url(url))
        try:
            sessionmaker = create_sessionmaker(engine)
            started = time.perf_counter()
            await scan_expiring_tokens(sessionmaker)
            first = time.perf_counter() - started
            started = time.perf_counter()
            await scan_expiring_tokens(sessionmaker)
            return first, time.perf_counter() - started
        finally:
            await engine.dispose()

    return asyncio.run(run())


@dataclass
class Running:
    size: Size
    server: RunningServer
    http: HttpClient
    admin: dict[str, str]
    gateway: dict[str, str]
    load_secrets: list[str]
    leaked: list[str]


@dataclass
class Prepared:
    """A size's fresh database, ready to serve."""

    size: Size
    env: dict[str, str]
    username: str
    gateway: dict[str, str]
    load_secrets: list[str]
    leaked: list[str]


def prepare(size: Size, stack: ExitStack) -> Prepared:
    """A fresh copy of the size's template, with its credentials and tokens to use."""
    template = ensure_template(size)
    size.url = copy_of(template)
    stack.callback(drop, size.url)
    env = {
        **os.environ,
        "DATABASE_URL": _pg_url(size.url),
        "ENVIRONMENT": "test",
        "ISSUER": "https://bench.test",
        "ACCESS_LOG": "false",
        "LOG_LEVEL": "warning",
        "NOTIFICATION_SCAN_SECONDS": "86400",
    }
    client = json.loads(run_cli(env, "create-introspection-client", "bench"))
    username = f"bench-{secrets.token_hex(3)}"
    run_cli(env, "create-admin", username, "--password-stdin", stdin=PASSWORD + "\n")
    load_secrets = asyncio.run(_real_tokens(size.url, "gateway load", GATEWAY_TOKENS))
    leaked = asyncio.run(_real_tokens(size.url, "leak target", 8 * 1000))
    asyncio.run(_sql(size.url, "VACUUM ANALYZE"))
    # Write out what VACUUM dirtied now, not in the middle of the first measurements.
    asyncio.run(_sql(size.url, "CHECKPOINT"))
    credentials = f"{client['client_id']}:{client['client_secret']}".encode()
    gateway = {"Authorization": "Basic " + base64.b64encode(credentials).decode()}
    return Prepared(size, env, username, gateway, load_secrets, leaked)


def serve(prepared: Prepared, stack: ExitStack) -> Running:
    """A 1-worker server on the prepared database, and an admin session on it.

    Every size is prepared before any server starts: a session's keep-alive connection
    left idle while the next size seeds (minutes, the first time) would be closed by the
    server."""
    # The server would start with an expiry scan (queueing ~75,000 warnings at 1M tokens,
    # in the measured worker); it is measured on its own below. Holding its advisory lock
    # makes the server's scans skip, as they do while another replica scans.
    stack.callback(hold_scan_lock(prepared.size.url))
    server = stack.enter_context(uvicorn_server(prepared.env, workers=1, component="all"))
    http = HttpClient(server.port)
    admin = login(http, prepared.username)
    return Running(
        prepared.size,
        server,
        http,
        admin,
        prepared.gateway,
        prepared.load_secrets,
        prepared.leaked,
    )


def hold_scan_lock(url: str) -> Callable[[], None]:
    """Hold the expiry scan's advisory lock on ``url`` until the returned function is called."""
    ready, release = threading.Event(), threading.Event()

    async def hold() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("SELECT pg_advisory_lock($1)", SCAN_LOCK_KEY)
            ready.set()
            while not release.is_set():
                await asyncio.sleep(0.1)
        finally:
            await connection.close()

    thread = threading.Thread(target=lambda: asyncio.run(hold()), daemon=True)
    thread.start()
    assert ready.wait(30), "could not take the expiry scan's lock"

    def let_go() -> None:
        release.set()
        thread.join()

    return let_go


def under_load_runs(run: Running, since: datetime) -> list[RevokeAll]:
    size = run.size
    asyncio.run(restore_big(size.url, since))
    loaded = []
    for label, request in (
        (
            'revoke {"all": true}',
            ("POST", f"/api/v1/integrations/{BIG}/tokens/revoke", {"all": True}, 200),
        ),
        ("DELETE the integration", ("DELETE", f"/api/v1/integrations/{BIG}", None, 204)),
    ):
        result = under_load(
            size, label, run.server, run.admin, run.gateway, run.load_secrets, request
        )
        if result.revoked < 0:  # 204: count what the deletion revoked
            rows = asyncio.run(
                _sql(
                    size.url,
                    "SELECT count(*) FROM access_tokens WHERE integration_id = $1"
                    " AND revocation_reason = 'integration_deleted'",
                    BIG,
                )
            )
            result.revoked = rows[0][0]
        print(f"  {result}", flush=True)
        loaded.append(result)
        asyncio.run(restore_big(size.url, since))
    return loaded


# --- the report --------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def print_report(
    small: Size, large: Size, revokes: list[RevokeAll], scans: dict[str, tuple[float, float]]
) -> None:
    print()
    print(
        f"machine: {os.cpu_count()} cores; one uvicorn worker; {REPEATS} requests per read "
        f"after {WARMUP} warm-up (writes: 20 PATCH, 5 mass revokes, 5 leak reports)"
    )
    print()
    print("| operation | small median ms | small p95 | large median ms | large p95 | growth |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, values in small.timings.items():
        big = large.timings[label]
        growth = statistics.median(big) / statistics.median(values)
        print(
            f"| {label} | {statistics.median(values):.1f} | {p95(values):.1f} "
            f"| {statistics.median(big):.1f} | {p95(big):.1f} | {growth:.2f}× |"
        )
    print()
    print(
        "| under introspection load | tokens revoked | seconds | introspections during "
        "| introspection p50 ms | p99 ms | max ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in revokes:
        print(
            f"| {r.size} | {r.revoked:,} | {r.seconds:.2f} | {r.introspections} "
            f"| {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.max_ms:.1f} |"
        )
    print()
    print("| expiry scan | first pass s (queues warnings) | second pass s (nothing new) |")
    print("|---|---:|---:|")
    for name, (first, second) in scans.items():
        print(f"| {name} | {first:.2f} | {second:.2f} |")


def main() -> None:
    sizes = [Size(name, scale) for name, scale in SIZES.items()]
    only = os.environ.get("BENCH_SCALE_ONLY")  # "small": a quick check of the script itself
    if only:
        sizes = [z for z in sizes if z.name == only]
    with ExitStack() as stack:
        prepared = []
        for size in sizes:
            print(f"{size.name}: {size.counts()}", flush=True)
            prepared.append(prepare(size, stack))
        runs = [serve(ready, stack) for ready in prepared]
        reads = [read_operations(r.size, r.http, r.admin) for r in runs]
        for operations in reads:  # one untimed round: caches warm for every operation
            for _, call, _ in operations:
                call()
        print("reads (medians per size)", flush=True)
        interleave(sizes, reads)
        since = datetime.now(UTC)
        print("writes", flush=True)
        interleave(sizes, [write_operations(r.size, r.http, r.admin, r.leaked) for r in runs])
        revokes = [result for run in runs for result in under_load_runs(run, since)]
        stack.close()  # servers stopped, copies dropped
    scans = {}
    for size in sizes:
        template = ensure_template(size)
        size.url = copy_of(template)
        try:
            scans[size.name] = expiry_pass(size.url)
        finally:
            drop(size.url)
        print(f"  {size.name}: expiry scan passes: {scans[size.name]}", flush=True)
    if len(sizes) == 2:
        print_report(sizes[0], sizes[1], revokes, scans)
        # The fleet: connections of `serve --workers 4` under load, and a worker's RSS with a
        # full introspection cache (each also runs alone: make bench-connections,
        # python -m bench.cache_rss).
        connections.main()
        cache_rss.main()


if __name__ == "__main__":
    main()
