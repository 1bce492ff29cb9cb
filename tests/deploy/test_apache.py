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
from tests.deploy.gateways import issue, through_gateway, wait_for_gateway

APACHE = shutil.which("apache2") or (
    "/usr/sbin/apache2" if Path("/usr/sbin/apache2").exists() else None
)
MODULES = Path("/usr/lib/apache2/modules")
HAS_OAUTH2 = (MODULES / "mod_oauth2.so").exists()
if (APACHE is None or not HAS_OAUTH2) and os.environ.get("CI") == "true":
    raise RuntimeError(
        "apache2 and libapache2-mod-oauth2 are required in CI (make test installs them)"
    )
pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(
        APACHE is None or not HAS_OAUTH2,
        reason="apache2 with mod_oauth2 is not installed (make test installs it)",
    ),
]

LOADED = [
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authn_core_module", "mod_authn_core.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authz_user_module", "mod_authz_user.so"),
    ("headers_module", "mod_headers.so"),
    ("proxy_module", "mod_proxy.so"),
    ("proxy_http_module", "mod_proxy_http.so"),
    ("oauth2_module", "mod_oauth2.so"),
]








@pytest.fixture(scope="module")
def apache(
    tmp_path_factory: pytest.TempPathFactory, service: dict[str, Any], upstream: int
) -> Iterator[int]:
    http, admin = service["http"], service["admin"]
    status, client = http.json("POST", "/api/v1/introspection-clients", {"name": "apache"}, admin)
    assert status == 201, client
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
    }
    assert APACHE is not None
    process = subprocess.Popen(
        [APACHE, "-X", "-d", str(root), "-f", str(root / "httpd.conf")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_gateway(process, port, lambda: _exit_report(process, root))
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)






def test_active_token_reaches_upstream_with_identity_from_the_service(
    apache: int, service: dict[str, Any]
) -> None:
    secret, token = issue(service)
    status, seen, _ = through_gateway(
        apache, secret, {"X-Integration-Id": "spoofed", "X-Gateway-Authorization": "Basic c3Bvb2Y="}
    )
    assert status == 200
    assert seen["x-integration-id"] == token["integration_id"]
    assert seen["x-token-id"] == token["id"]
    assert seen["x-merchant-scope"] == "all"
    assert "x-gateway-authorization" not in seen
    assert "x-token-expires-at" not in seen  # a token that never expires
    assert not any(name.startswith("oauth2_claim") for name in seen)


def test_revoked_token_is_stopped_at_once_despite_the_earlier_pass(
    apache: int, service: dict[str, Any]
) -> None:
    secret, token = issue(service)
    assert through_gateway(apache, secret)[0] == 200
    url = f"/api/v1/integrations/{token['integration_id']}/tokens/{token['id']}/revoke"
    assert service["http"].request("POST", url, headers=service["admin"])[0] == 200
    status, seen, headers = through_gateway(apache, secret)
    assert status == 401
    assert seen is None
    assert headers.get("WWW-Authenticate", "").lower().startswith("bearer")


def test_deactivated_integration_is_stopped_at_once(apache: int, service: dict[str, Any]) -> None:
    secret, token = issue(service)
    assert through_gateway(apache, secret)[0] == 200
    url = f"/api/v1/integrations/{token['integration_id']}"
    status, _ = service["http"].json("PATCH", url, {"active": False}, service["admin"])
    assert status == 200
    assert through_gateway(apache, secret)[0] == 401


@pytest.mark.parametrize("token", [None, "ssg_unknown", "not-a-token"])
def test_missing_or_unknown_token_is_401(apache: int, token: str | None) -> None:
    status, seen, _ = through_gateway(apache, token)
    assert status == 401
    assert seen is None


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


def _exit_report(process: subprocess.Popen[bytes], root: Path) -> str:
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    log = (root / "error.log").read_text() if (root / "error.log").exists() else ""
    return f"{stderr}\n{log}"
