"""The shipped Apache examples, run for real: mod_oauth2 and mod_auth_openidc introspecting
through the service, in front of the echo upstream.

Apache is started in the foreground (``-X``) from a temporary ServerRoot with a minimal
httpd.conf that loads the modules and includes the example unchanged; the example's
${VARIABLES} come from Apache's environment, as in production.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devkit.server import ROOT, free_port
from tests.deploy.gateways import (
    GatewayContract,
    create_gateway_client,
    gateway_marks,
    running_gateway,
)

APACHE = shutil.which("apache2") or (
    "/usr/sbin/apache2" if Path("/usr/sbin/apache2").exists() else None
)
MODULES = Path("/usr/lib/apache2/modules")
OAUTH2 = ("oauth2_module", "mod_oauth2.so")
OPENIDC = ("auth_openidc_module", "mod_auth_openidc.so")
pytestmark = gateway_marks(
    APACHE is not None and all((MODULES / file).exists() for _, file in (OAUTH2, OPENIDC)),
    "apache2, libapache2-mod-oauth2 and libapache2-mod-auth-openidc",
)

COMMON_MODULES = [
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authn_core_module", "mod_authn_core.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authz_user_module", "mod_authz_user.so"),
    ("headers_module", "mod_headers.so"),
    ("proxy_module", "mod_proxy.so"),
    ("proxy_http_module", "mod_proxy_http.so"),
    ("lua_module", "mod_lua.so"),
]


@contextmanager
def running_apache(
    root: Path,
    *,
    module: tuple[str, str],
    example: str,
    variables: dict[str, str],
    server_config: str = "",
) -> Iterator[int]:
    """Apache on a free port with ``module`` and ``deploy/apache/<example>`` included as
    shipped; ``server_config`` is what the host adds (say, the CA it trusts)."""
    port = free_port()
    loads = "\n".join(
        f"LoadModule {name} {MODULES / file}" for name, file in [*COMMON_MODULES, module]
    )
    # As root (CI), Apache's process must drop to some user; as anyone else it cannot.
    user = "User nobody\nGroup nogroup" if os.geteuid() == 0 else ""
    (root / "httpd.conf").write_text(
        f"""
ServerRoot {root}
ServerName 127.0.0.1
PidFile {root}/httpd.pid
ErrorLog {root}/error.log
LogLevel warn
Mutex file:{root}
DefaultRuntimeDir {root}
{user}
{loads}
{server_config}
Include {ROOT / "deploy/apache" / example}
"""
    )
    env = {
        **os.environ,
        "LISTEN_ADDRESS": f"127.0.0.1:{port}",
        "TOKEN_EXPIRY_LUA": str(ROOT / "deploy/apache/token_expiry.lua"),
        **variables,
    }
    assert APACHE is not None
    command = [APACHE, "-X", "-d", str(root), "-f", str(root / "httpd.conf")]
    with running_gateway(command, port, env=env, log=root / "error.log") as running:
        yield running


@pytest.fixture(scope="module")
def mod_oauth2(
    tmp_path_factory: pytest.TempPathFactory, service: dict[str, Any], upstream: int
) -> Iterator[int]:
    client = create_gateway_client(service, "apache mod_oauth2")
    variables = {
        "INTROSPECTION_URL": f"http://127.0.0.1:{service['port']}/oauth2/introspect",
        "GATEWAY_CLIENT_ID": client["client_id"],
        "GATEWAY_CLIENT_SECRET": client["client_secret"],
        "GLOBAL_API_URL": f"http://127.0.0.1:{upstream}/",
    }
    root = tmp_path_factory.mktemp("apache-oauth2")
    with running_apache(
        root, module=OAUTH2, example="mod_oauth2.conf", variables=variables
    ) as port:
        yield port


@pytest.fixture(scope="module")
def mod_auth_openidc(
    tmp_path_factory: pytest.TempPathFactory, service_over_tls: dict[str, Any], upstream: int
) -> Iterator[int]:
    service = service_over_tls  # mod_auth_openidc refuses to introspect over plain http
    client = create_gateway_client(service, "apache mod_auth_openidc")
    variables = {
        "INTROSPECTION_URL": f"https://127.0.0.1:{service['port']}/oauth2/introspect",
        "GATEWAY_CLIENT_ID": client["client_id"],
        "GATEWAY_CLIENT_SECRET": client["client_secret"],
        "OIDC_CRYPTO_PASSPHRASE": uuid.uuid4().hex,
        "GLOBAL_API_URL": f"http://127.0.0.1:{upstream}/",
    }
    root = tmp_path_factory.mktemp("apache-openidc")
    # Read by Apache's worker (nobody, under CI's root), so not in pytest's private tree.
    with tempfile.TemporaryDirectory(prefix="gi-apache-ca-") as readable:
        bundle = Path(readable) / "ca.pem"
        shutil.copyfile(service["certificate"], bundle)
        Path(readable).chmod(0o755)
        bundle.chmod(0o644)
        with running_apache(
            root,
            module=OPENIDC,
            example="mod_auth_openidc.conf",
            variables=variables,
            server_config=f"OIDCCABundlePath {bundle}",
        ) as port:
            yield port


class TestApacheModOauth2(GatewayContract):
    """deploy/apache/mod_oauth2.conf: introspection with the answer cache turned off."""

    SERVICE_CHALLENGE = None  # mod_oauth2 answers with a challenge of its own

    @pytest.fixture
    def gateway(self, mod_oauth2: int) -> int:
        return mod_oauth2


class TestApacheModAuthOpenidc(GatewayContract):
    """deploy/apache/mod_auth_openidc.conf: it refuses plain http, so the service serves
    HTTPS here, and Apache trusts the test's certificate authority (``OIDCCABundlePath``
    in the host's config, as a host with a private CA would set it)."""

    SERVICE_CHALLENGE = None  # mod_auth_openidc answers with a challenge of its own

    @pytest.fixture
    def service(self, service_over_tls: dict[str, Any]) -> dict[str, Any]:
        return service_over_tls

    @pytest.fixture
    def gateway(self, mod_auth_openidc: int) -> int:
        return mod_auth_openidc
