"""The shipped nginx example, run for real: nginx auth_request -> forward-auth -> upstream.

nginx is rendered from deploy/nginx/global-api.conf.template (as the official image would),
in front of a tiny upstream that echoes the headers it received and of the real service.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from string import Template
from typing import Any

import pytest

from devkit.server import ROOT, free_port
from tests.deploy.gateways import (
    GatewayContract,
    create_gateway_client,
    gateway_marks,
    running_gateway,
)

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
pytestmark = gateway_marks(NGINX is not None, "nginx")


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, service: dict[str, Any], upstream: int
) -> Iterator[int]:
    client = create_gateway_client(service, "nginx")
    port = free_port()
    workdir = tmp_path_factory.mktemp("nginx")
    template = (ROOT / "deploy/nginx/global-api.conf.template").read_text()
    # Like the image's envsubst: only these variables; nginx's own $variables stay.
    site = Template(template).safe_substitute(
        INTROSPECTION_UPSTREAM=f"127.0.0.1:{service['port']}",
        GLOBAL_API_UPSTREAM=f"127.0.0.1:{upstream}",
        GATEWAY_BASIC_CREDENTIALS=client["basic"],
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
    command = [NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"]
    with running_gateway(command, port) as running:
        yield running


class TestNginx(GatewayContract):
    """deploy/nginx/global-api.conf.template: auth_request to /oauth2/forward-auth."""
