"""``make bench-connections``: the PostgreSQL connections of ``serve --workers 4`` under load.

One server (all components, 4 workers, default settings, introspection cache disabled so
every introspection asks the database) is driven by ``wrk`` on ``/oauth2/introspect`` and,
at the same time, by threads doing management reads and writes (every one a transaction
on the management pool). A sampler counts the rows of ``pg_stat_activity`` for the bench
database every 10 ms. The peak is reported next to the connection budget formula's
prediction, ``workers x DATABASE_MAX_CONNECTIONS``, and its split.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import asyncpg

from app.config import Settings
from bench.run import basic, bench_env, create_database, drop_database, ensure_wrk, seed
from devkit.server import ROOT, HttpClient, run_cli, uvicorn_server

WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
DURATION_S = int(os.environ.get("BENCH_DURATION", "10"))
WRK_CONNECTIONS = 64
MANAGEMENT_THREADS = 16
PASSWORD = "bench-connections-password"


class Sampler:
    """Counts the bench database's backends (by state) until stopped; keeps the peak."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.peak = 0
        self.peak_by_state: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        connection = await asyncpg.connect(self._url)
        try:
            while not self._stop.is_set():
                rows = await connection.fetch(
                    "SELECT coalesce(state, '?') AS state, count(*) AS n FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "GROUP BY 1"
                )
                total = sum(row["n"] for row in rows)
                self.samples += 1
                if total > self.peak:
                    self.peak = total
                    self.peak_by_state = {row["state"]: row["n"] for row in rows}
                await asyncio.sleep(0.01)
        finally:
            await connection.close()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def management_load(port: int, admin: dict[str, str], stop: threading.Event) -> list[int]:
    """Reads and writes on the management API until ``stop``; returns the statuses."""
    statuses: list[int] = []
    http = HttpClient(port)
    try:
        status, integration = http.json(
            "POST",
            "/api/v1/integrations",
            {"name": f"conn-{secrets.token_hex(4)}", "notification_email": "c@example.com"},
            admin,
        )
        statuses.append(status)
        path = f"/api/v1/integrations/{integration['id']}"
        while not stop.is_set():
            statuses.append(http.request("GET", "/api/v1/integrations?limit=20", headers=admin)[0])
            statuses.append(http.json("PATCH", path, {"description": str(time.time())}, admin)[0])
    finally:
        http.close()
    return statuses


def main() -> None:
    wrk = ensure_wrk()
    url = asyncio.run(create_database())
    env = bench_env(url, INTROSPECTION_CACHE_SIZE="0")
    settings = Settings(_env_file=None, database_url=url)
    budget = settings.connection_budget
    workdir = Path(tempfile.mkdtemp(prefix="gi-bench-conn-"))
    try:
        run_cli(env, "migrate")
        gateway = json.loads(run_cli(env, "create-introspection-client", "bench"))
        username = f"bench-{secrets.token_hex(3)}"
        run_cli(env, "create-admin", username, "--password-stdin", stdin=PASSWORD + "\n")
        _, kept = asyncio.run(seed(url, 10_000))
        tokens_file = workdir / "tokens.txt"
        tokens_file.write_text("\n".join(kept) + "\n")
        wrk_env = {
            **os.environ,
            "BENCH_TOKENS_FILE": str(tokens_file),
            "BENCH_AUTH": basic(gateway),
        }

        with uvicorn_server(env, workers=WORKERS) as server:
            http = HttpClient(server.port)
            status, login = http.form(
                "/api/v1/auth/token", urlencode({"username": username, "password": PASSWORD}), {}
            )
            assert status == 200, login
            admin = {"Authorization": f"Bearer {login['access_token']}"}
            http.close()
            stop = threading.Event()
            results: list[list[int]] = []
            threads = [
                threading.Thread(
                    target=lambda: results.append(management_load(server.port, admin, stop))
                )
                for _ in range(MANAGEMENT_THREADS)
            ]
            with Sampler(url) as sampler:
                for thread in threads:
                    thread.start()
                wrk_run = subprocess.run(
                    [
                        wrk,
                        "-t2",
                        f"-c{WRK_CONNECTIONS}",
                        f"-d{DURATION_S}s",
                        "-s",
                        str(ROOT / "bench/introspect.lua"),
                        f"http://127.0.0.1:{server.port}",
                    ],
                    env=wrk_env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                stop.set()
                for thread in threads:
                    thread.join()
        statuses = [s for batch in results for s in batch]
        report(
            sampler,
            budget.management,
            budget.introspection,
            budget.listen,
            statuses,
            wrk_run.stdout,
        )
    finally:
        asyncio.run(drop_database(url))
        shutil.rmtree(workdir, ignore_errors=True)


def report(
    sampler: Sampler,
    management: int,
    introspection: int,
    listen: int,
    statuses: list[int],
    wrk_output: str,
) -> None:
    per_process = management + introspection + listen
    predicted = WORKERS * per_process
    line = next(
        (ln for ln in wrk_output.splitlines() if ln.startswith("BENCH ")), "BENCH ? ? ? ? ?"
    )
    requests, duration_us, _p50, _p99, errors = line.split()[1:]
    errors = errors.split(".")[0]
    print()
    print(
        f"serve --workers {WORKERS}, defaults (DATABASE_MAX_CONNECTIONS="
        f"{per_process}: management pool {management} + introspection {introspection} "
        f"+ LISTEN {listen}); cache disabled; wrk -c{WRK_CONNECTIONS} -d{DURATION_S}s on "
        f"/oauth2/introspect + {MANAGEMENT_THREADS} threads of management reads and writes"
    )
    print()
    print("| what | connections |")
    print("|---|---:|")
    print(f"| predicted ceiling: {WORKERS} workers x {per_process} | {predicted} |")
    print(f"| measured peak in pg_stat_activity ({sampler.samples} samples) | {sampler.peak} |")
    states = ", ".join(f"{k} {v}" for k, v in sorted(sampler.peak_by_state.items()))
    print()
    print(f"at the peak: {states}")
    rps = int(requests) / (int(duration_us) / 1e6) if duration_us.isdigit() else float("nan")
    print(
        f"introspection: {rps:,.0f} req/s, {errors} wrk errors; management: {len(statuses)} "
        f"requests, statuses {sorted(set(statuses))}"
    )
    assert sampler.peak <= predicted, "more connections than the budget allows"


if __name__ == "__main__":
    main()
