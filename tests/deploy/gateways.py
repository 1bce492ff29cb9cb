"""Driving a gateway under test: wait for it, send a request through it, issue a token."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any


def wait_for_gateway(
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
    """GET /v1/orders through the gateway: (status, what the upstream saw, headers)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/orders", headers=extra or {})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, None, dict(error.headers)


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
