"""RSS of one introspection worker with its cache full (issue 13: ≤ 200 MB per worker).

Seeds 100,000 tokens (the default ``INTROSPECTION_CACHE_SIZE``) with known secrets, starts
``serve --component introspection --workers 1``, reads the worker's RSS, introspects every
token once (each one a miss that fills an entry), and reads it again. Printed by
``make bench-scale``; runs alone with ``python -m bench.cache_rss``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from urllib.parse import urlencode

import asyncpg

from bench.run import basic, bench_env, create_database, drop_database
from bench.seed import seed_integrations, seed_tokens
from devkit.server import HttpClient, run_cli, uvicorn_server

CACHE_ENTRIES = 100_000
THREADS = 4


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def _seed(url: str) -> list[str]:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        integrations = await seed_integrations(connection, 1000)
        return await seed_tokens(connection, integrations, CACHE_ENTRIES, keep=CACHE_ENTRIES)
    finally:
        await connection.close()


def _introspect_all(port: int, gateway: str, secrets: list[str]) -> int:
    """Introspect each secret once from ``THREADS`` connections; how many were active."""
    active = [0] * THREADS

    def work(index: int) -> None:
        http = HttpClient(port)
        try:
            for secret in secrets[index::THREADS]:
                status, body = http.form(
                    "/oauth2/introspect", urlencode({"token": secret}), {"Authorization": gateway}
                )
                active[index] += status == 200 and body["active"] is True
        finally:
            http.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(active)


def main() -> None:
    url = asyncio.run(create_database())
    env = bench_env(
        url,
        INTROSPECTION_CACHE_SIZE=str(CACHE_ENTRIES),
        INTROSPECTION_CACHE_TTL_SECONDS="3600",  # nothing expires while it fills
    )
    try:
        run_cli(env, "migrate")
        gateway = basic(json.loads(run_cli(env, "create-introspection-client", "bench")))
        secrets = asyncio.run(_seed(url))
        with uvicorn_server(env, workers=1, component="introspection") as server:
            (worker,) = server.worker_pids() or [server.pid]
            empty = rss_mb(worker)
            active = _introspect_all(server.port, gateway, secrets)
            full = rss_mb(worker)
        print()
        print(f"| introspection worker, cache of {CACHE_ENTRIES:,} entries | RSS MB |")
        print("|---|---:|")
        print(f"| started, cache empty | {empty:.0f} |")
        print(f"| after {active:,} active tokens introspected once (cache full) | {full:.0f} |")
        print(
            f"| growth per cached token | {(full - empty) * 1024 * 1024 / CACHE_ENTRIES:.0f} "
            "bytes |"
        )
        assert active == CACHE_ENTRIES, f"only {active} of {CACHE_ENTRIES} were active"
    finally:
        asyncio.run(drop_database(url))


if __name__ == "__main__":
    main()
