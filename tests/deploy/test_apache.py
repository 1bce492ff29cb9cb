"""The shipped Apache example, run for real: mod_oauth2 introspection -> upstream.

Apache is started in the foreground (``-X``) from a temporary ServerRoot with a minimal
httpd.conf that loads the modules and includes deploy/apache/mod_oauth2.conf unchanged; the
example's ${VARIABLES} come from Apache's environment, as in production.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.server import ROOT, free_port
from tests.deploy.gateways import (
    GatewayContract,
    create_gateway_client,
    gateway_marks,
    issue,
    running_gateway,
    through_gateway,
)

APACHE = shutil.which("apache2") or (
    "/usr/sbin/apache2" if Path("/usr/sbin/apache2").exists() else None
)
MODULES = Path("/usr/lib/apache2/modules")
HAS_OAUTH2 = (MODULES / "mod_oauth2.so").exists()
pytestmark = gateway_marks(APACHE is not None and HAS_OAUTH2, "apache2 and libapache2-mod-oauth2")

LOADED = [
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authn_core_module", "mod_authn_core.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authz_user_module", "mod_authz_user.so"),
    ("headers_module", "mod_headers.so"),
    ("proxy_module", "mod_proxy.so"),
    ("proxy_http_module", "mod_proxy_http.so"),
    ("lua_module", "mod_lua.so"),
    ("oauth2_module", "mod_oauth2.so"),
]


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, service: dict[str, Any], upstream: int
) -> Iterator[int]:
    client = create_gateway_client(service, "apache")
    port = free_port()
    root = tmp_path_factory.mktemp("apache")
    modules = "\n".join(f"LoadModule {name} {MODULES / file}" for name, file in LOADED)
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
{modules}
Include {ROOT / "deploy/apache/mod_oauth2.conf"}
"""
    )
    env = {
        **os.environ,
        "LISTEN_ADDRESS": f"127.0.0.1:{port}",
        "INTROSPECTION_URL": f"http://127.0.0.1:{service['port']}/oauth2/introspect",
        "GATEWAY_CLIENT_ID": client["client_id"],
        "GATEWAY_CLIENT_SECRET": client["client_secret"],
        "GLOBAL_API_URL": f"http://127.0.0.1:{upstream}/",
        "TOKEN_EXPIRY_LUA": str(ROOT / "deploy/apache/token_expiry.lua"),
    }
    assert APACHE is not None
    command = [APACHE, "-X", "-d", str(root), "-f", str(root / "httpd.conf")]
    with running_gateway(command, port, env=env, log=root / "error.log") as running:
        yield running


class TestApacheModOauth2(GatewayContract):
    """deploy/apache/mod_oauth2.conf: introspection with the answer cache turned off."""

    SERVICE_CHALLENGE = None  # mod_oauth2 answers with a challenge of its own

    def test_no_claim_of_the_answer_leaks_upstream(
        self, gateway: int, service: dict[str, Any]
    ) -> None:
        secret, _ = issue(service)
        status, seen, _ = through_gateway(gateway, secret)
        assert status == 200
        assert not any(name.startswith("oauth2_claim") for name in seen)


@pytest.mark.skipif(
    not (MODULES / "mod_auth_openidc.so").exists(), reason="mod_auth_openidc is not installed"
)
def test_mod_auth_openidc_example_is_valid_apache_configuration(tmp_path: Path) -> None:
    modules = [*LOADED[:-1], ("auth_openidc_module", "mod_auth_openidc.so")]
    loads = "\n".join(f"LoadModule {name} {MODULES / file}" for name, file in modules)
    (tmp_path / "httpd.conf").write_text(
        f"ServerRoot {tmp_path}\nServerName 127.0.0.1\nErrorLog {tmp_path}/error.log\n"
        f"{loads}\nInclude {ROOT / 'deploy/apache/mod_auth_openidc.conf'}\n"
    )
    env = {
        **os.environ,
        "LISTEN_ADDRESS": f"127.0.0.1:{free_port()}",
        "INTROSPECTION_URL": "https://introspection.example/oauth2/introspect",
        "GATEWAY_CLIENT_ID": str(uuid.uuid4()),
        "GATEWAY_CLIENT_SECRET": "ssc_example",
        "OIDC_CRYPTO_PASSPHRASE": uuid.uuid4().hex,
        "GLOBAL_API_URL": "http://127.0.0.1:9/",
        "TOKEN_EXPIRY_LUA": str(ROOT / "deploy/apache/token_expiry.lua"),
    }
    assert APACHE is not None
    result = subprocess.run(
        [APACHE, "-t", "-d", str(tmp_path), "-f", str(tmp_path / "httpd.conf")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
