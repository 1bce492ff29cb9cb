"""``python -m app ...`` run as a real subprocess against its own SQLite file."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.apps import create_app
from app.config import Settings
from tests.fixtures.api import basic_auth, login

ROOT = Path(__file__).resolve().parents[1]
GENERATED_PASSWORD = re.compile(r"password \(shown once[^)]*\): (\S+)")


def run_cli(
    database_url: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "development"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def migrated_database(directory: Path) -> str:
    url = f"sqlite+aiosqlite:///{directory / 'cli.db'}"
    result = run_cli(url, "migrate")
    assert result.returncode == 0, result.stderr
    return url


def unique_name() -> str:
    return f"cli-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_database(tmp_path_factory.mktemp("cli"))


@asynccontextmanager
async def running_app(database_url: str) -> AsyncIterator[FastAPI]:
    """A fresh app over the CLI's database, as a server process would see it."""
    application = create_app(Settings(environment="test", database_url=database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def cli_app(cli_database: str) -> AsyncIterator[FastAPI]:
    async with running_app(cli_database) as application:
        yield application


async def me(application: FastAPI, headers: dict[str, str]) -> dict[str, str]:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_migrate_creates_the_schema_and_is_repeatable(cli_database: str) -> None:
    path = cli_database.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"alembic_version", "admin_users", "access_tokens", "integrations"} <= tables
    again = run_cli(cli_database, "migrate")
    assert again.returncode == 0, again.stderr


async def test_create_admin_prints_a_generated_password_that_logs_in(
    cli_database: str, cli_app: FastAPI
) -> None:
    username = unique_name()
    result = run_cli(cli_database, "create-admin", username)
    assert result.returncode == 0, result.stderr
    passwords = GENERATED_PASSWORD.findall(result.stdout)
    assert len(passwords) == 1
    assert result.stdout.count(passwords[0]) == 1
    headers = await login(cli_app, username, passwords[0])
    assert await me(cli_app, headers) == {"username": username, "role": "admin"}


async def test_create_admin_reads_the_password_from_stdin(
    cli_database: str, cli_app: FastAPI
) -> None:
    username = unique_name()
    password = "typed-in-by-a-person"
    result = run_cli(
        cli_database,
        "create-admin",
        username,
        "--role",
        "viewer",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout
    assert "password" not in result.stdout
    headers = await login(cli_app, username, password)
    assert await me(cli_app, headers) == {"username": username, "role": "viewer"}


def test_create_admin_with_a_taken_username_fails_clearly(cli_database: str) -> None:
    username = unique_name()
    assert run_cli(cli_database, "create-admin", username).returncode == 0
    result = run_cli(cli_database, "create-admin", username.upper())
    assert result.returncode != 0
    assert "already exists" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_create_admin_refuses_a_short_password(cli_database: str) -> None:
    result = run_cli(
        cli_database, "create-admin", unique_name(), "--password-stdin", stdin="short\n"
    )
    assert result.returncode != 0
    assert "at least 12 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_create_admin_refuses_an_unknown_role(cli_database: str) -> None:
    result = run_cli(cli_database, "create-admin", unique_name(), "--role", "root")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


async def test_create_introspection_client_prints_working_credentials(
    cli_database: str, cli_app: FastAPI
) -> None:
    result = run_cli(cli_database, "create-introspection-client", "Global API gateway")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"client_id", "client_secret", "name"}
    assert created["name"] == "Global API gateway"
    assert created["client_secret"].startswith("ssc_")
    transport = httpx.ASGITransport(app=cli_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post(
            "/oauth2/introspect",
            data={"token": "ssg_not-a-real-token"},
            headers=basic_auth(created["client_id"], created["client_secret"]),
        )
    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_create_introspection_client_refuses_a_blank_name(cli_database: str) -> None:
    result = run_cli(cli_database, "create-introspection-client", "   ")
    assert result.returncode != 0
    assert "NAME" in result.stderr


async def test_bootstrap_admin_creates_admin_once(tmp_path: Path) -> None:
    url = migrated_database(tmp_path)
    first = run_cli(url, "bootstrap-admin")
    assert first.returncode == 0, first.stderr
    assert "created the first admin user 'admin'" in first.stdout
    [password] = GENERATED_PASSWORD.findall(first.stdout)

    second = run_cli(url, "bootstrap-admin")
    assert second.returncode == 0, second.stderr
    assert "exists already" in second.stdout
    assert not GENERATED_PASSWORD.findall(second.stdout)

    async with running_app(url) as application:
        headers = await login(application, "admin", password)
        assert await me(application, headers) == {"username": "admin", "role": "admin"}


def test_unmigrated_database_fails_with_a_hint_and_no_traceback(tmp_path: Path) -> None:
    result = run_cli(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", "create-admin", "bob")
    assert result.returncode != 0
    assert "python -m app migrate" in result.stderr
    assert "Traceback" not in result.stderr
    assert "SELECT" not in result.stderr


def test_invalid_database_url_fails_without_echoing_it() -> None:
    result = run_cli("mysql://user:hunter2@db/x", "create-admin", unique_name())
    assert result.returncode != 0
    assert "DATABASE_URL must be" in result.stderr
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr
