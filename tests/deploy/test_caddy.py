"""The shipped Caddy example, run for real: Caddy forward_auth -> forward-auth -> upstream.

Caddy loads deploy/caddy/Caddyfile unchanged; its {$VARIABLES} come from Caddy's
environment, as in production.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from devkit.server import ROOT, free_port
from tests.deploy.gateways import (
    GatewayContract,
    create_gateway_client,
    gateway_marks,
    running_gateway,
)

CADDY = shutil.which("caddy")
pytestmark = gateway_marks(CADDY is not None, "caddy")


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, service: dict[str, Any], upstream: int
) -> Iterator[int]:
    client = create_gateway_client(service, "caddy")
    port = free_port()
    home = tmp_path_factory.mktemp("caddy")
    env = {
        **os.environ,
        "HOME": str(home),  # Caddy's data and config directories, not the user's
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "LISTEN_ADDRESS": f"http://127.0.0.1:{port}",
        "INTROSPECTION_UPSTREAM": f"127.0.0.1:{service['port']}",
        "GATEWAY_BASIC_CREDENTIALS": client["basic"],
        "GLOBAL_API_UPSTREAM": f"127.0.0.1:{upstream}",
        "CADDY_ADMIN": f"127.0.0.1:{free_port()}",  # not the default 2019 another Caddy may hold
    }
    assert CADDY is not None
    config = ROOT / "deploy/caddy/Caddyfile"
    command = [CADDY, "run", "--adapter", "caddyfile", "--config", str(config)]
    with running_gateway(command, port, env=env) as running:
        yield running


class TestCaddy(GatewayContract):
    """deploy/caddy/Caddyfile: forward_auth to /oauth2/forward-auth, no answer cache."""
