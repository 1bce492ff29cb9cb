"""Driving a gateway under test: wait for it, send a request through it, issue a token; and
what every shipped gateway example must do (``GatewayContract``)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest


def gateway_marks(available: bool, packages: str) -> list[pytest.MarkDecorator]:
    """A gateway module's ``pytestmark``: it runs processes, and is skipped when the gateway
    is not installed, except in CI, which must have it."""
    if not available and os.environ.get("CI") == "true":
        raise RuntimeError(f"{packages} required in CI (make test installs it with apt-get)")
    return [
        pytest.mark.process,
        pytest.mark.skipif(not available, reason=f"needs {packages} (make test installs it)"),
    ]


@contextmanager
def running_gateway(
    command: list[str],
    port: int,
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[int]:
    """The gateway started with ``command``, once it answers on ``port``; stopped after.
    If it exits instead, the error says why (its stderr, and ``log`` if it writes one)."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def exit_report() -> str:
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        written = log.read_text() if log is not None and log.exists() else ""
        return f"{stderr}\n{written}"

    try:
        _wait_for_gateway(process, port, exit_report)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_gateway(
    process: subprocess.Popen[bytes], port: int, describe_exit: Callable[[], str]
) -> None:
    """Until the gateway answers on ``port`` (any HTTP status: 401 without a token is up)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited: {describe_exit()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
            continue
        return
    raise RuntimeError("the gateway did not start")


def through_gateway(
    port: int, token: str | None, extra: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    """GET /v1/orders through the gateway: (status, what the upstream saw, headers), the
    response's header names in lower case (gateways spell them differently)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/orders", headers=extra or {})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), _lowered(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, None, _lowered(error.headers)


def _lowered(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def create_gateway_client(service: dict[str, Any], name: str) -> dict[str, Any]:
    """Introspection-client credentials for the gateway: client_id, client_secret and
    ``basic``, both joined and base64-encoded as an Authorization header carries them."""
    status, client = service["http"].json(
        "POST", "/api/v1/introspection-clients", {"name": name}, service["admin"]
    )
    assert status == 201, client
    joined = f"{client['client_id']}:{client['client_secret']}".encode()
    return {**client, "basic": base64.b64encode(joined).decode()}


def issue(service: dict[str, Any], **policy: Any) -> tuple[str, dict[str, Any]]:
    """A new integration and a token of it: (secret, token)."""
    http, admin = service["http"], service["admin"]
    status, integration = http.json(
        "POST",
        "/api/v1/integrations",
        {"name": f"gateway-{uuid.uuid4().hex[:6]}", "notification_email": "ops@example.com"},
        admin,
    )
    assert status == 201, integration
    status, issued = http.json(
        "POST",
        f"/api/v1/integrations/{integration['id']}/tokens",
        {"name": "gateway test", "expiration_policy": "never", **policy},
        admin,
    )
    assert status == 201, issued
    return issued["secret"], issued["token"]


class GatewayContract:
    """What a shipped gateway example does, run for real in front of the echo upstream.

    A test module subclasses it (``class TestNginx(GatewayContract)``) and provides a
    ``gateway`` fixture: the port of the running gateway.
    """

    # The gateway hands the client the service's own challenge (nginx, Caddy), rather
    # than one of its own making (Apache's mod_oauth2).
    SERVICE_CHALLENGE: str | None = 'Bearer error="invalid_token"'

    def test_active_token_reaches_upstream_with_identity_but_without_gateway_credential(
        self, gateway: int, service: dict[str, Any]
    ) -> None:
        secret, token = issue(service)
        spoofed = {
            "X-Integration-Id": "spoofed",
            "X-Token-Expires-At": "2099-01-01T00:00:00Z",
            "X-Gateway-Authorization": "Basic c3Bvb2Y=",
        }
        status, seen, _ = through_gateway(gateway, secret, spoofed)
        assert status == 200
        assert seen["x-integration-id"] == token["integration_id"]
        assert seen["x-token-id"] == token["id"]
        assert seen["x-merchant-scope"] == "all"
        assert "x-gateway-authorization" not in seen
        # nor the answer's claims under the Apache modules' own names
        assert not any(name.startswith(("oauth2_claim", "oidc_")) for name in seen)
        assert seen.get("x-token-expires-at", "") == "", seen  # a token that never expires

    def test_an_expiring_token_reaches_upstream_with_its_expiry_in_rfc_3339(
        self, gateway: int, service: dict[str, Any]
    ) -> None:
        secret, token = issue(service, expiration_policy="30d")
        status, seen, _ = through_gateway(gateway, secret)
        assert status == 200
        expires_at = datetime.fromisoformat(token["expires_at"]).replace(microsecond=0)
        assert seen["x-token-expires-at"] == expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def test_revoked_token_is_stopped_at_once_despite_the_earlier_pass(
        self, gateway: int, service: dict[str, Any]
    ) -> None:
        secret, token = issue(service)
        assert through_gateway(gateway, secret)[0] == 200
        url = f"/api/v1/integrations/{token['integration_id']}/tokens/{token['id']}/revoke"
        assert service["http"].request("POST", url, headers=service["admin"])[0] == 200
        status, seen, headers = through_gateway(gateway, secret)
        assert status == 401
        assert seen is None
        challenge = headers.get("www-authenticate", "")
        if self.SERVICE_CHALLENGE is None:
            assert challenge.lower().startswith("bearer")
        else:
            assert challenge == self.SERVICE_CHALLENGE, headers

    def test_deactivated_integration_is_stopped_at_once(
        self, gateway: int, service: dict[str, Any]
    ) -> None:
        secret, token = issue(service)
        assert through_gateway(gateway, secret)[0] == 200
        url = f"/api/v1/integrations/{token['integration_id']}"
        status, _ = service["http"].json("PATCH", url, {"active": False}, service["admin"])
        assert status == 200
        assert through_gateway(gateway, secret)[0] == 401

    def test_expired_token_is_stopped_at_the_gateway(
        self, gateway: int, service: dict[str, Any]
    ) -> None:
        expires_at = datetime.now(UTC) + timedelta(seconds=1.5)
        secret, _ = issue(service, expiration_policy="custom", expires_at=expires_at.isoformat())
        time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.2)
        assert through_gateway(gateway, secret)[0] == 401

    @pytest.mark.parametrize("token", [None, "ssg_unknown", "not-a-token"])
    def test_missing_or_unknown_token_is_401(self, gateway: int, token: str | None) -> None:
        status, seen, _ = through_gateway(gateway, token)
        assert status == 401
        assert seen is None
