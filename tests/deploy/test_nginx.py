"""The shipped nginx example, run for real: nginx auth_request -> forward-auth -> upstream.

nginx is rendered from deploy/nginx/global-api.conf.template (as the official image would),
in front of a tiny upstream that echoes the headers it received and of the real service.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any

import pytest

from devkit.server import ROOT, free_port
from tests.deploy.gateways import issue, through_gateway, wait_for_gateway

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
if NGINX is None and os.environ.get("CI") == "true":
    raise RuntimeError("nginx is required in CI (make test installs it with apt-get)")
pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make test installs it)"),
]







@pytest.fixture(scope="module")
def nginx(
    tmp_path_factory: pytest.TempPathFactory, service: dict[str, Any], upstream: int
) -> Iterator[int]:
    http, admin = service["http"], service["admin"]
    status, client = http.json("POST", "/api/v1/introspection-clients", {"name": "nginx"}, admin)
    assert status == 201, client
    credentials = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode())
    port = free_port()
    workdir = tmp_path_factory.mktemp("nginx")
    template = (ROOT / "deploy/nginx/global-api.conf.template").read_text()
    # Like the image's envsubst: only these variables; nginx's own $variables stay.
    site = Template(template).safe_substitute(
        INTROSPECTION_UPSTREAM=f"127.0.0.1:{service['port']}",
        GLOBAL_API_UPSTREAM=f"127.0.0.1:{upstream}",
        GATEWAY_BASIC_CREDENTIALS=credentials.decode(),
        LISTEN_PORT=f"127.0.0.1:{port}",
    )
    assert "${" not in site, "a template variable was left unset"
    (workdir / "site.conf").write_text(site)
    (workdir / "nginx.conf").write_text(
        f"""
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    include {workdir}/site.conf;
}}
"""
    )
    assert NGINX is not None
    process = subprocess.Popen(
        [NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_gateway(
            process, port, lambda: repr(process.stderr.read() if process.stderr else b"")
        )
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)








def test_active_token_reaches_upstream_with_identity_but_without_gateway_credential(
    nginx: int, service: dict[str, Any]
) -> None:
    secret, token = issue(service)
    status, seen, _ = through_gateway(
        nginx, secret, {"X-Integration-Id": "spoofed", "X-Gateway-Authorization": "Basic c3Bvb2Y="}
    )
    assert status == 200
    assert seen["x-integration-id"] == token["integration_id"]
    assert seen["x-token-id"] == token["id"]
    assert seen["x-merchant-scope"] == "all"
    assert "x-gateway-authorization" not in seen
    assert "x-token-expires-at" not in seen or seen["x-token-expires-at"] == ""


def test_revoked_token_is_stopped_at_the_gateway(nginx: int, service: dict[str, Any]) -> None:
    secret, token = issue(service)
    assert through_gateway(nginx, secret)[0] == 200
    url = f"/api/v1/integrations/{token['integration_id']}/tokens/{token['id']}/revoke"
    assert service["http"].request("POST", url, headers=service["admin"])[0] == 200
    status, seen, headers = through_gateway(nginx, secret)
    assert status == 401
    assert seen is None
    assert headers.get("WWW-Authenticate") == 'Bearer error="invalid_token"'


def test_expired_token_is_stopped_at_the_gateway(nginx: int, service: dict[str, Any]) -> None:
    expires_at = datetime.now(UTC) + timedelta(seconds=1.5)
    secret, _ = issue(service, expiration_policy="custom", expires_at=expires_at.isoformat())
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.2)
    assert through_gateway(nginx, secret)[0] == 401


@pytest.mark.parametrize("token", [None, "ssg_unknown", "not-a-token"])
def test_missing_or_unknown_token_is_401(nginx: int, token: str | None) -> None:
    status, seen, _ = through_gateway(nginx, token)
    assert status == 401
    assert seen is None
