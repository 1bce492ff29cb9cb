"""A real PgBouncer in front of a PostgreSQL server, for tests and benchmarks.

Runs Debian's ``pgbouncer`` in the foreground from a temporary config on a free port
(``pool_mode = transaction`` unless told otherwise, ``auth_type = trust``). PgBouncer
refuses to run as root; as root it is started with ``-u`` to drop to ``postgres`` (or
``nobody``), which is why its directory and files are world-readable (they hold no secret:
trust authentication).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devkit.server import free_port


def pgbouncer_binary() -> str | None:
    for candidate in (shutil.which("pgbouncer"), "/usr/sbin/pgbouncer"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("no unprivileged user to run pgbouncer as")


@contextmanager
def pgbouncer(
    server_host: str,
    server_port: int,
    *,
    users: tuple[str, ...] = ("postgres",),
    pool_mode: str = "transaction",
    pool_size: int = 10,
    max_client_conn: int = 500,
) -> Iterator[int]:
    """Run PgBouncer until the block ends; yields its port (every database is routed)."""
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError("pgbouncer is not installed (make system-deps installs it)")
    directory = Path(tempfile.mkdtemp(prefix="gi-pgbouncer-"))
    port = free_port()
    userlist = directory / "userlist.txt"
    userlist.write_text("".join(f'"{user}" ""\n' for user in users))
    config = directory / "pgbouncer.ini"
    config.write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={server_host} port={server_port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {userlist}",
                f"admin_users = {users[0]}",
                f"pool_mode = {pool_mode}",
                f"default_pool_size = {pool_size}",
                f"max_client_conn = {max_client_conn}",
                "ignore_startup_parameters = extra_float_digits",
                "",
            ]
        )
    )
    directory.chmod(0o755)
    for path in (userlist, config):
        path.chmod(0o644)
    command = [binary, str(config)]
    if os.geteuid() == 0:  # "PgBouncer should not run as root"
        command[1:1] = ["-u", _unprivileged_user()]
    log_path = directory / "stderr.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(process, port, log_path)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for_port(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("pgbouncer did not listen within 10 s")
