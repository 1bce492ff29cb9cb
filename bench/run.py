"""``make bench``: introspection throughput and revocation visibility on PostgreSQL.

Prints one table of req/s and p50/p99 latency for the framework ceiling (bench/ceiling.py)
and the introspection component (warm cache, cache disabled; 10k and 1M tokens), each as a
ratio to the ceiling measured in the same run, plus each worker's peak RSS; then the delay
until a revoke made through one worker or replica is seen by another.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
from sqlalchemy.engine import make_url

from bench.seed import seed_integrations, seed_tokens
from devkit.server import (
    ROOT,
    HttpClient,
    RunningServer,
    connections_to_distinct_workers,
    free_port,
    run_cli,
    uvicorn_server,
    worker_pids,
)

SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WORKERS = 2
CONNECTIONS = 50
DURATION_S = int(os.environ.get("BENCH_DURATION", "10"))
WARMUP_S = 6
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ROTATING_TOKENS = 10_000
VISIBILITY_ROUNDS = int(os.environ.get("BENCH_VISIBILITY_ROUNDS", "200"))
LARGE_TOKENS = int(os.environ.get("BENCH_LARGE_TOKENS", "1000000"))
PASSWORD = "bench-admin-password"


@dataclass
class Measurement:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: list[float]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        subprocess.run(["apt-get", "update"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    assert found, "wrk could not be installed"
    return found


def wrk_once(
    wrk: str, port: int, env: dict[str, str], seconds: int
) -> tuple[float, float, float, int]:
    result = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "-s",
            str(ROOT / "bench/introspect.lua"),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"^BENCH (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)", result.stdout, re.MULTILINE)
    assert match, result.stdout + result.stderr
    requests, duration_us, p50_us, p99_us, errors = match.groups()
    return (
        int(requests) / (int(duration_us) / 1e6),
        float(p50_us) / 1000,
        float(p99_us) / 1000,
        int(errors),
    )


def peak_rss_mb(pids: list[int]) -> list[float]:
    peaks = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        peaks.append(int(match.group(1)) / 1024 if match else float("nan"))
    return peaks


def measure(label: str, wrk: str, port: int, pids: list[int], env: dict[str, str]) -> Measurement:
    wrk_once(wrk, port, env, WARMUP_S)  # warm-up: connections, caches, first last_used flush
    runs = [wrk_once(wrk, port, env, DURATION_S) for _ in range(RUNS)]
    result = Measurement(
        label=label,
        rps=statistics.median(r[0] for r in runs),
        p50_ms=statistics.median(r[1] for r in runs),
        p99_ms=statistics.median(r[2] for r in runs),
        errors=sum(r[3] for r in runs),
        rss_mb=peak_rss_mb(pids),
    )
    print(
        f"  {label}: {result.rps:,.0f} req/s p50 {result.p50_ms:.2f} ms p99 {result.p99_ms:.2f} ms",
        flush=True,
    )
    return result


@contextmanager
def ceiling_server(env: dict[str, str]) -> Iterator[RunningServer]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.ceiling:app",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--no-access-log",
            "--no-server-header",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while len(worker_pids(process.pid)) < WORKERS or not _answers(port):
            assert time.monotonic() < deadline, "ceiling server did not start"
            time.sleep(0.1)
        yield RunningServer(port=port, pid=process.pid, log_path=Path(os.devnull))
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        return (
            HttpClient(port).request(
                "POST",
                "/oauth2/introspect",
                body="token=x",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )[0]
            == 200
        )
    except OSError:
        return False


def basic(client: dict[str, str]) -> str:
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    return "Basic " + base64.b64encode(raw).decode()


# --- revocation visibility -----------------------------------------------------------------


def login(http: HttpClient, username: str) -> dict[str, str]:
    status, body = http.request(
        "POST",
        "/api/v1/auth/token",
        body=urlencode({"username": username, "password": PASSWORD}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, body
    return {"Authorization": f"Bearer {body['access_token']}"}


def _active(http: HttpClient, gateway: dict[str, str], secret: str) -> bool:
    status, body = http.form("/oauth2/introspect", urlencode({"token": secret}), gateway)
    assert status == 200, body
    return bool(body["active"])


def visibility_delays(
    writer: HttpClient, reader: HttpClient, username: str, gateway: dict[str, str]
) -> list[float]:
    admin = login(writer, username)
    status, integration = writer.json(
        "POST",
        "/api/v1/integrations",
        {"name": f"visibility-{secrets.token_hex(4)}", "notification_email": "a@example.com"},
        admin,
    )
    assert status == 201, integration
    tokens_url = f"/api/v1/integrations/{integration['id']}/tokens"
    delays = []
    for _ in range(VISIBILITY_ROUNDS):
        _, issued = writer.json("POST", tokens_url, {"name": "v", "expiration_policy": "7d"}, admin)
        for _ in range(3):  # now cached on the reader
            assert _active(reader, gateway, issued["secret"])
        status, _ = writer.request(
            "POST", f"{tokens_url}/{issued['token']['id']}/revoke", headers=admin
        )
        assert status == 200
        revoked_at = time.perf_counter()
        while _active(reader, gateway, issued["secret"]):
            if time.perf_counter() - revoked_at > 5:
                raise AssertionError("revocation not visible after 5 s")
        delays.append((time.perf_counter() - revoked_at) * 1000)
    return delays


def summarise_delays(label: str, delays: list[float]) -> str:
    ordered = sorted(delays)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return f"| {label} | {len(delays)} | {statistics.median(ordered):.2f} | {p99:.2f} | {ordered[-1]:.2f} |"


# --- the run -----------------------------------------------------------------------------


async def create_database() -> str:
    name = f"gi_bench_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(SERVER_URL)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    connection = await asyncpg.connect(SERVER_URL)
    await connection.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    await connection.close()


async def seed(
    url: str, tokens: int, integrations: list[uuid.UUID] | None = None
) -> tuple[list[uuid.UUID], list[str]]:
    connection = await asyncpg.connect(url)
    try:
        ids = integrations or await seed_integrations(connection, 100)
        kept = await seed_tokens(connection, ids, tokens, keep=ROTATING_TOKENS)
    finally:
        await connection.close()
    return ids, kept


def service_rounds(
    wrk: str, label: str, env: dict[str, str], wrk_env: dict[str, str]
) -> list[Measurement]:
    results = []
    for cache_label, cache_env in (
        ("warm cache", {}),
        ("cache disabled", {"INTROSPECTION_CACHE_SIZE": "0"}),
    ):
        with uvicorn_server(
            {**env, **cache_env}, workers=WORKERS, component="introspection"
        ) as server:
            results.append(
                measure(
                    f"introspection, {cache_label}, {label}",
                    wrk,
                    server.port,
                    server.worker_pids(),
                    wrk_env,
                )
            )
    return results


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a benchmarked ``serve``: quiet logs, a fixed issuer."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "ISSUER": "https://bench.test",
        "ACCESS_LOG": "false",
        "LOG_LEVEL": "warning",
        **extra,
    }


def main() -> None:
    wrk = ensure_wrk()
    url = asyncio.run(create_database())
    env = bench_env(url)
    workdir = Path(tempfile.mkdtemp(prefix="gi-bench-"))
    try:
        run_cli(env, "migrate")
        gateway_client = json.loads(run_cli(env, "create-introspection-client", "bench"))
        username = f"bench-{secrets.token_hex(3)}"
        run_cli(env, "create-admin", username, "--password-stdin", stdin=PASSWORD + "\n")
        print("seeding 10,000 tokens", flush=True)
        integrations, kept = asyncio.run(seed(url, 10_000))
        tokens_file = workdir / "tokens.txt"
        tokens_file.write_text("\n".join(kept) + "\n")
        wrk_env = {
            **os.environ,
            "BENCH_TOKENS_FILE": str(tokens_file),
            "BENCH_AUTH": basic(gateway_client),
        }

        with ceiling_server(env) as ceiling:
            results = [
                measure(
                    "ceiling (bare Starlette, constant answer)",
                    wrk,
                    ceiling.port,
                    ceiling.worker_pids(),
                    wrk_env,
                )
            ]
        results += service_rounds(wrk, "10k tokens", env, wrk_env)
        print(f"seeding {LARGE_TOKENS - 10_000:,} more tokens ({LARGE_TOKENS:,} in all)", flush=True)
        asyncio.run(seed(url, LARGE_TOKENS - 10_000, integrations))
        results += service_rounds(wrk, f"{LARGE_TOKENS // 1000}k tokens", env, wrk_env)

        gateway = {"Authorization": basic(gateway_client)}
        print("measuring revocation visibility", flush=True)
        with uvicorn_server(env, workers=2, component="all") as server:
            writer, reader = connections_to_distinct_workers(server, 2)
            across_workers = visibility_delays(writer, reader, username, gateway)
        with (
            uvicorn_server(env, component="all") as first,
            uvicorn_server(env, component="all") as second,
        ):
            across_replicas = visibility_delays(
                HttpClient(first.port), HttpClient(second.port), username, gateway
            )
        print_report(results, across_workers, across_replicas)
    finally:
        asyncio.run(drop_database(url))
        shutil.rmtree(workdir, ignore_errors=True)


def print_report(results: list[Measurement], workers: list[float], replicas: list[float]) -> None:
    ceiling = results[0]
    print()
    print(
        f"machine: {os.cpu_count()} cores, {platform_line()}; wrk -t2 -c{CONNECTIONS} -d{DURATION_S}s, "
        f"median of {RUNS} runs, {WORKERS} uvicorn workers each"
    )
    print()
    print(
        "| what | req/s | × ceiling | p50 ms | p99 ms | p99 × ceiling | errors | peak RSS per worker MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        rss = ", ".join(f"{m:.0f}" for m in r.rss_mb)
        print(
            f"| {r.label} | {r.rps:,.0f} | {r.rps / ceiling.rps:.2f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
            f"| {r.p99_ms / ceiling.p99_ms:.2f} | {r.errors} | {rss} |"
        )
    print()
    print("| revocation seen through | rounds | median ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    print(summarise_delays("the other worker (2 workers)", workers))
    print(summarise_delays("the other replica (2 processes)", replicas))


def platform_line() -> str:
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = "unknown CPU"
    return f"{model}, Python {sys.version.split()[0]}"


if __name__ == "__main__":
    main()
