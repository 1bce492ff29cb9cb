"""No secret, password or digest leaves the service, except a secret in the one response
that shows it; none reaches a log line at any level, exception logs included.

Secrets are access tokens, introspection-client secrets and admin session tokens; each
is looked for as itself, without its prefix, and as its SHA-256 digest (hex, base64,
and the bytes' repr a driver log would print). Passwords are looked for as themselves
and their Argon2 hashes by their prefix.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError

from app import token_format
from app.auth.models import Role
from app.auth.service import AuthService
from app.logs import logging_config
from app.tokens.repository import TokenRepository
from devkit.server import uvicorn_server
from tests.fixtures.api import create_user, state
from tests.fixtures.database import backend
from tests.hardening.helpers import server_env
from tests.hardening.proxy import TcpProxy

API = "/api/v1"
PASSWORD = "secrets-test-password-1"
WRONG_PASSWORD = "secrets-test-wrong-password-2"


def forms_of(secret: str) -> set[str]:
    """Every way a secret (or what is stored of it) could show up in text."""
    digest = hashlib.sha256(secret.encode()).digest()
    forms = {
        secret,
        secret.split("_", 1)[-1],
        digest.hex(),
        digest.hex().upper(),
        base64.b64encode(digest).decode(),
        base64.urlsafe_b64encode(digest).decode().rstrip("="),
        repr(digest)[2:-1],
    }
    if not secret.startswith("ss"):  # a password: its Argon2 hashes start like this
        forms.discard(secret.split("_", 1)[-1])
    return forms


@dataclass
class Seen:
    """Every response of a scenario, and where each secret may appear."""

    responses: list[httpx.Response] = field(default_factory=list)
    shown_in: dict[str, int] = field(default_factory=dict)  # secret -> its response
    passwords: set[str] = field(default_factory=set)

    async def record(self, response: httpx.Response) -> None:
        await response.aread()
        self.responses.append(response)

    def shows(self, secret: str) -> str:
        self.shown_in[secret] = len(self.responses) - 1
        return secret

    @staticmethod
    def text(response: httpx.Response) -> str:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        return f"{headers}\n{response.content.decode('utf-8', 'replace')}"

    def check_responses(self) -> None:
        assert self.shown_in, "the scenario showed no secret"
        for index, response in enumerate(self.responses):
            text = self.text(response)
            assert "$argon2" not in text
            for password in self.passwords:
                assert password not in text, f"a password in {response.request.url}"
            for secret, shown_at in self.shown_in.items():
                for form in forms_of(secret):
                    if index == shown_at and form in secret:
                        continue  # the one response that shows it
                    assert form not in text, (
                        f"{secret[:8]}… (as {form[:12]}…) in {response.request.method} "
                        f"{response.request.url.path} -> {response.status_code}"
                    )

    def check_text(self, text: str, where: str) -> None:
        assert "$argon2" not in text, where
        for password in self.passwords:
            assert password not in text, f"a password in {where}"
        for secret in self.shown_in:
            for form in forms_of(secret):
                assert form not in text, f"{secret[:8]}… (as {form[:12]}…) in {where}"


async def scenario(http: httpx.AsyncClient, seen: Seen, username: str) -> None:
    """Every kind of request that handles a secret, the failures included."""
    seen.passwords |= {PASSWORD, WRONG_PASSWORD}
    login = await http.post(f"{API}/auth/token", data={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    admin = {"Authorization": f"Bearer {seen.shows(login.json()['access_token'])}"}
    failed = await http.post(
        f"{API}/auth/token", data={"username": username, "password": WRONG_PASSWORD}
    )
    assert failed.status_code == 401

    integration = (
        await http.post(
            f"{API}/integrations",
            json={"name": f"secrets-{uuid.uuid4().hex[:8]}", "notification_email": "s@example.com"},
            headers=admin,
        )
    ).json()
    tokens = f"{API}/integrations/{integration['id']}/tokens"
    issued = (
        await http.post(tokens, json={"name": "one", "expiration_policy": "30d"}, headers=admin)
    ).json()
    first = seen.shows(issued["secret"])
    second_body = (
        await http.post(tokens, json={"name": "two", "expiration_policy": "never"}, headers=admin)
    ).json()
    second = seen.shows(second_body["secret"])
    regenerated = (
        await http.post(f"{tokens}/{issued['token']['id']}/regenerate", headers=admin)
    ).json()
    third = seen.shows(regenerated["secret"])
    created = (
        await http.post(f"{API}/introspection-clients", json={"name": "gw"}, headers=admin)
    ).json()
    client_secret = seen.shows(created["client_secret"])
    gateway = (
        "Basic " + base64.b64encode(f"{created['client_id']}:{client_secret}".encode()).decode()
    )

    for token in (first, second, third, "ssg_" + "x" * 38, second[:-1]):
        await http.post(
            "/oauth2/introspect", data={"token": token}, headers={"Authorization": gateway}
        )
        await http.get(
            "/oauth2/forward-auth",
            headers={"X-Gateway-Authorization": gateway, "Authorization": f"Bearer {token}"},
        )
    wrong_gateway = gateway[:-2] + ("AA" if not gateway.endswith("AA") else "BB")
    await http.post(
        "/oauth2/introspect", data={"token": second}, headers={"Authorization": wrong_gateway}
    )
    # Secrets sent where they do not belong: refused without being echoed.
    await http.post(
        f"{API}/integrations", json={"name": second, "notification_email": second}, headers=admin
    )
    await http.post(tokens, json={"name": "x", "expiration_policy": second}, headers=admin)
    await http.get(f"{API}/integrations/{second}", headers=admin)
    await http.get(f"{API}/integrations", params={"q": second, "limit": second}, headers=admin)
    await http.get(f"{API}/integrations", headers={"Authorization": f"Bearer {second}"})
    await http.get(f"{API}/integrations", headers={"Authorization": f"Basic {client_secret}"})
    await http.post(f"{API}/auth/token", data={"username": second, "password": PASSWORD})
    await http.post(f"{API}/auth/token", json={"username": username, "password": PASSWORD})
    # Everything the API lists or shows about them.
    for path in (
        tokens,
        f"{tokens}/{issued['token']['id']}",
        f"{API}/integrations/{integration['id']}",
        f"{API}/introspection-clients",
        f"{API}/audit-events?limit=500",
        f"{API}/auth/me",
    ):
        assert (await http.get(path, headers=admin)).status_code == 200
    await http.post(f"{tokens}/revoke", json={"all": True}, headers=admin)
    await http.post(f"{API}/leaked-tokens", json={"secrets": [third, second]}, headers=admin)
    await http.post(f"{API}/introspection-clients/{created['client_id']}/revoke", headers=admin)
    await http.post(f"{API}/auth/logout", headers=admin)
    await http.get(f"{API}/auth/me", headers=admin)


async def test_no_secret_password_or_digest_in_any_response_but_its_own(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    username = f"secrets-{uuid.uuid4().hex[:8]}"
    await create_user(app, username, Role.ADMIN, PASSWORD)
    seen = Seen()
    client.event_hooks["response"].append(seen.record)
    await scenario(client, seen, username)
    assert len(seen.responses) > 35
    seen.check_responses()


def shipped_log_levels(caplog: pytest.LogCaptureFixture) -> None:
    """Everything at DEBUG, except what the service's own logging config keeps quieter
    at any level (drivers and SQLAlchemy would print statement parameters)."""
    caplog.set_level(logging.DEBUG)
    for name, config in logging_config(level="DEBUG", json_lines=False)["loggers"].items():
        if "level" in config and name not in ("", "root"):
            caplog.set_level(config["level"], logger=name)


async def test_no_secret_in_logs_at_debug_exception_logs_included(
    app: FastAPI,
    client: httpx.AsyncClient,
    gateway_headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shipped_log_levels(caplog)
    username = f"secrets-{uuid.uuid4().hex[:8]}"
    await create_user(app, username, Role.ADMIN, PASSWORD)
    seen = Seen()
    client.event_hooks["response"].append(seen.record)
    await scenario(client, seen, username)
    login = await client.post(
        f"{API}/auth/token", data={"username": username, "password": PASSWORD}
    )
    admin = {"Authorization": f"Bearer {seen.shows(login.json()['access_token'])}"}
    integration_id = (await client.get(f"{API}/integrations", headers=admin)).json()["items"][0][
        "id"
    ]
    never_issued = token_format.generate()
    seen.shown_in[never_issued] = -1

    # Unexpected exceptions whose text carries a secret, as a driver's error would
    # (SQLAlchemy's message quotes the statement's parameters).
    async def failing_login(*args: Any, **kwargs: Any) -> None:
        password = kwargs["password"]
        raise StatementError(f"boom {password}", "SELECT", {"password": password}, None)

    async def failing_create(self: Any, obj: Any) -> None:
        raise StatementError(
            "insert failed", "INSERT", {"token_digest": obj.token_digest, "hint": obj.hint}, None
        )

    async def failing_lookup(digest: bytes) -> None:
        raise RuntimeError(f"lookup of {digest!r} / {digest.hex()} failed")

    monkeypatch.setattr(AuthService, "login", failing_login)
    monkeypatch.setattr(TokenRepository, "create", failing_create)
    monkeypatch.setattr(state(app).introspection.introspector.store, "find_token", failing_lookup)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        http.event_hooks["response"].append(seen.record)
        response = await http.post(
            f"{API}/auth/token", data={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 500
        response = await http.post(
            f"{API}/integrations/{integration_id}/tokens",
            json={"name": "fails", "expiration_policy": "7d"},
            headers=admin,
        )
        assert response.status_code == 500
        response = await http.post(
            "/oauth2/introspect", data={"token": never_issued}, headers=gateway_headers
        )
        assert response.status_code == 503

    assert "unhandled error: StatementError" in caplog.text  # the failures were logged
    assert "introspection failed closed: RuntimeError" in caplog.text
    seen.check_text(caplog.text, "the log")
    for record in caplog.records:  # structured extras too, not only the rendered text
        seen.check_text(repr(vars(record)), f"log record {record.name}")
    seen.check_responses()


@pytest.mark.process
async def test_no_secret_in_a_real_servers_debug_log(app: FastAPI, database_url: str) -> None:
    """A real ``serve`` at LOG_LEVEL=DEBUG, with the service's own logging configuration.

    On PostgreSQL it reaches the database through a proxy that is cut and restored in
    the middle, so that the failure paths (503s, the lost invalidation feed, a failed
    flush) write their log lines too.
    """
    username = f"secrets-{uuid.uuid4().hex[:8]}"
    await create_user(app, username, Role.ADMIN, PASSWORD)
    proxy = None
    server_url = database_url
    if backend() == "postgres":
        url = make_url(database_url)
        proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
        server_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
    env = server_env(server_url, LOG_LEVEL="DEBUG", LAST_USED_FLUSH_SECONDS="1")
    seen = Seen()
    stack = contextlib.ExitStack()
    try:
        # Started from a thread: serve checks the database at start-up, through the proxy,
        # which runs on this event loop and must keep serving meanwhile.
        running = await asyncio.to_thread(stack.enter_context, uvicorn_server(env))
        base_url = f"http://127.0.0.1:{running.port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            http.event_hooks["response"].append(seen.record)
            await scenario(http, seen, username)
            if proxy is not None:
                proxy.cut()
                for _ in range(3):
                    await http.get("/readyz")
                    await http.get(f"{API}/integrations", headers={"Authorization": "x"})
                    await http.post(
                        f"{API}/auth/token",
                        data={"username": username, "password": PASSWORD},
                    )
                    await asyncio.sleep(0.5)
                proxy.restore()
                async with asyncio.timeout(30):
                    while (await http.get("/readyz")).status_code != 200:
                        await asyncio.sleep(0.1)
        os.kill(running.pid, signal.SIGTERM)
        await _exited(running.pid)
        log = running.log_path.read_text(errors="replace")
    finally:
        await asyncio.to_thread(stack.close)
        if proxy is not None:
            await proxy.close()

    assert "Started server process" in log or "Application startup complete" in log, log[:2000]
    if proxy is not None:
        assert "database unavailable" in log or "failed closed" in log, log[-3000:]
    seen.check_text(log, "the server's log")
    seen.check_responses()


async def _exited(pid: int, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                return
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return
            await asyncio.sleep(0.05)
