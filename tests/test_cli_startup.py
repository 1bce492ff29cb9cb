"""What a new user meets first: serve's start-up checks, TLS, --help, reset-password, and
configuration mistakes answered in one line (never a traceback)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.apps import create_app
from app.config import Settings
from devkit.server import ROOT, uvicorn_server
from tests.fixtures.api import login
from tests.fixtures.database import backend
from tests.test_cli import GENERATED_PASSWORD, me, migrated_database, run_cli, running_app

COMMANDS = [
    "migrate",
    "create-admin",
    "reset-password",
    "create-introspection-client",
    "bootstrap-admin",
    "serve",
]


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# --- --help ------------------------------------------------------------------------------


def test_top_help_is_plain_and_lists_every_command() -> None:
    result = run_cli("sqlite+aiosqlite:///unused.db", "--help")
    assert result.returncode == 0
    assert "``" not in result.stdout
    for command in COMMANDS:
        assert f"\n    {command} " in result.stdout or f"\n    {command}\n" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_option_is_one_line_with_its_default(command: str) -> None:
    result = run_cli("sqlite+aiosqlite:///unused.db", command, "--help")
    assert result.returncode == 0
    options = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("  --") and not line.startswith("  -h")
    ]
    for line in options:
        assert "(default: " in line, line
        assert line.rstrip().endswith(")"), line


# --- configuration mistakes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SESSION_TTL_SECONDS", "5", "SESSION_TTL_SECONDS"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL"),
        ("CORS_ORIGINS", '["http://a"', "CORS_ORIGINS"),
        ("ENVIRONMENT", "prod", "ENVIRONMENT"),
        ("SSL_CERTFILE", "/nowhere/cert.pem", "SSL_KEYFILE"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    tmp_path: Path, variable: str, value: str, named: str
) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db", variable: value}
    for command in (["migrate"], ["serve", "--port", "1"]):
        result = subprocess.run(
            [sys.executable, "-m", "app", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert named in one_line_error(result)


def test_cors_origins_take_a_comma_separated_list_or_json() -> None:
    plain = Settings(_env_file=None, cors_origins="http://localhost:3000, https://a.example")  # type: ignore[call-arg]
    assert plain.cors_origins == ["http://localhost:3000", "https://a.example"]
    as_json = Settings(_env_file=None, cors_origins='["http://localhost:3000"]')  # type: ignore[call-arg]
    assert as_json.cors_origins == ["http://localhost:3000"]


@pytest.mark.skipif(backend() != "postgres", reason="needs the PostgreSQL server of the run")
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"database": "gi_no_such_database"}, "does not exist"),
        ({"username": "gi_no_such_role"}, "refused the user"),
    ],
)
@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_postgres_mistakes_are_one_line(
    database_url: str, change: dict[str, str], expected: str, command: str
) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(**change).render_as_string(hide_password=False)
    result = run_cli(url, command)
    assert expected in one_line_error(result)


# --- serve's start-up checks -------------------------------------------------------------


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = run_cli(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", "serve", "--port", "1")
    assert "run `python -m app migrate`" in one_line_error(result)


def test_serve_refuses_a_taken_port_and_says_how_to_pick_another(tmp_path: Path) -> None:
    url = migrated_database(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(url, "serve", "--port", str(port))
    line = one_line_error(result)
    assert f"port {port} on 127.0.0.1 is taken" in line
    assert "PORT=" in line


async def test_readyz_is_503_while_the_schema_is_behind(tmp_path: Path) -> None:
    url = migrated_database(tmp_path)
    with sqlite3.connect(tmp_path / "cli.db") as database:  # as if a newer release started
        database.execute("UPDATE alembic_version SET version_num = '0001'")
    async with running_app(url) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/readyz")
    assert response.status_code == 503
    assert "migrate" in response.json()["reason"]


def test_issuer_follows_the_port_in_development(tmp_path: Path) -> None:
    url = migrated_database(tmp_path)
    env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development"}
    env.pop("ISSUER", None)
    with uvicorn_server(env) as server:
        base = f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            answer = introspect_a_new_token(http, url)
    assert answer["iss"] == base


# --- TLS ---------------------------------------------------------------------------------


def issue_over_http(http: httpx.Client, url: str) -> tuple[dict[str, str], str, str]:
    """As an admin would: (gateway credentials, a new token's secret, its integration id)."""
    run_cli(url, "create-admin", "alice", "--password-stdin", stdin="alice-long-password\n")
    client = json.loads(run_cli(url, "create-introspection-client", "gateway").stdout)
    session = http.post(
        "/api/v1/auth/token", data={"username": "alice", "password": "alice-long-password"}
    ).json()["access_token"]
    admin = {"Authorization": f"Bearer {session}"}
    integration = http.post(
        "/api/v1/integrations",
        json={"name": "tls", "notification_email": "ops@example.com"},
        headers=admin,
    ).json()
    issued = http.post(
        f"/api/v1/integrations/{integration['id']}/tokens",
        json={"name": "t", "expiration_policy": "never"},
        headers=admin,
    ).json()
    return client, issued["secret"], integration["id"]


def introspect_a_new_token(http: httpx.Client, url: str) -> dict[str, object]:
    """As an admin and a gateway would: issue a token over ``http``, then introspect it."""
    client, secret, _ = issue_over_http(http, url)
    answer: dict[str, object] = http.post(
        "/oauth2/introspect",
        data={"token": secret},
        auth=(client["client_id"], client["client_secret"]),
    ).json()
    return answer


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def test_introspection_over_https_with_a_certificate_the_client_verifies(tmp_path: Path) -> None:
    url = migrated_database(tmp_path)
    cert, key = self_signed_certificate(tmp_path)
    env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development"}
    env.pop("ISSUER", None)
    args = ("--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    with uvicorn_server(env, extra_args=args, tls=True) as server:
        base = f"https://127.0.0.1:{server.port}"
        verify = ssl.create_default_context(cafile=str(cert))  # the real check, no shortcuts
        with httpx.Client(base_url=base, verify=verify, timeout=10) as http:
            answer = introspect_a_new_token(http, url)
    assert answer["active"] is True
    assert answer["iss"] == base  # development: the issuer follows scheme, host and port


# --- reset-password ------------------------------------------------------------------------


async def test_reset_password_sets_a_new_one_and_ends_sessions(tmp_path: Path) -> None:
    url = migrated_database(tmp_path)
    run_cli(url, "create-admin", "carol", "--password-stdin", stdin="carol-old-password\n")
    async with running_app(url) as application:
        old_session = await login(application, "carol", "carol-old-password")
    result = run_cli(url, "reset-password", "Carol")  # the server is stopped: one SQLite writer
    assert result.returncode == 0, result.stderr
    match = GENERATED_PASSWORD.search(result.stdout)
    assert match is not None, result.stdout
    assert "1 session(s) ended" in result.stdout
    async with running_app(url) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/api/v1/auth/me", headers=old_session)).status_code == 401
            refused = await http.post(
                "/api/v1/auth/token", data={"username": "carol", "password": "carol-old-password"}
            )
            assert refused.status_code == 401
        new_session = await login(application, "carol", match.group(1))
        assert (await me(application, new_session))["username"] == "carol"
    with sqlite3.connect(tmp_path / "cli.db") as database:
        actors = database.execute(
            "SELECT actor, details FROM audit_events WHERE action = 'auth.password_reset'"
        ).fetchall()
    assert len(actors) == 1
    assert actors[0][0] == "cli"
    assert "carol-old-password" not in actors[0][1]
    assert match.group(1) not in actors[0][1]


async def test_reset_password_reads_the_new_one_from_stdin(tmp_path: Path) -> None:
    url = migrated_database(tmp_path)
    run_cli(url, "create-admin", "dave", "--password-stdin", stdin="dave-old-password\n")
    result = run_cli(url, "reset-password", "dave", "--password-stdin", stdin="dave-new-password\n")
    assert result.returncode == 0, result.stderr
    assert "dave-new-password" not in result.stdout
    async with running_app(url) as application:
        assert (await me(application, await login(application, "dave", "dave-new-password")))


def test_reset_password_refuses_an_unknown_user_in_one_line(tmp_path: Path) -> None:
    result = run_cli(migrated_database(tmp_path), "reset-password", "nobody")
    assert "nobody" in one_line_error(result)


def test_app_factory_still_builds_with_defaults() -> None:
    assert create_app(Settings(environment="test")) is not None


# --- logs ----------------------------------------------------------------------------------


def test_console_lines_have_a_timestamp_and_say_the_access_line_once() -> None:
    import logging
    import re

    from app.logs import ConsoleFormatter

    record = logging.makeLogRecord(
        {
            "name": "app.access",
            "levelname": "INFO",
            "msg": "%s %s %d",
            "args": ("GET", "/healthz", 200),
            "method": "GET",
            "path": "/healthz",
            "status": 200,
            "duration_ms": 1.5,
        }
    )
    line = ConsoleFormatter().format(record)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", line), line
    assert line.count("/healthz") == 1, line
    assert "duration_ms=1.5" in line


def test_start_up_lines_come_from_our_logger(tmp_path: Path) -> None:
    url = migrated_database(tmp_path)
    env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development", "LOG_FORMAT": "console"}
    with uvicorn_server(env) as server:
        log = server.log_path.read_text()
    assert "app.server: Application startup complete." in log, log
    assert "uvicorn" not in log.replace("Uvicorn running", ""), log
