"""openid-client 6 (Node), with its defaults, against a real ``serve`` over HTTPS.

``discovery()`` finds the metadata and the introspection endpoint; ``tokenIntrospection()``
authenticates with its default method, ``client_secret_post``. openid-client refuses plain
http unless told otherwise, so the service serves TLS with a certificate the test makes and
Node trusts (``NODE_EXTRA_CA_CERTS``).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from devkit.server import ROOT, uvicorn_server
from tests.test_cli import migrated_database
from tests.test_cli_startup import issue_over_http, self_signed_certificate

CLIENTS = ROOT / "tests" / "clients"
NODE = shutil.which("node")
if (NODE is None or not (CLIENTS / "node_modules").exists()) and os.environ.get("CI") == "true":
    raise RuntimeError("node and tests/clients/node_modules are required (make test installs them)")
pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(
        NODE is None or not (CLIENTS / "node_modules").exists(),
        reason="needs node and `npm ci --prefix tests/clients` (make test does both)",
    ),
]


def test_openid_client_discovers_and_introspects_with_its_defaults(tmp_path: Path) -> None:
    assert NODE is not None
    url = migrated_database(tmp_path)
    cert, key = self_signed_certificate(tmp_path)
    env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development"}
    env.pop("ISSUER", None)  # development: the issuer follows serve's scheme, host and port
    args = ("--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    with uvicorn_server(env, extra_args=args, tls=True) as server:
        issuer = f"https://127.0.0.1:{server.port}"
        verify = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=issuer, verify=verify, timeout=10) as http:
            gateway, secret, integration_id = issue_over_http(http, url)
        result = subprocess.run(
            [
                NODE,
                str(CLIENTS / "openid_client_introspect.mjs"),
                issuer,
                gateway["client_id"],
                gateway["client_secret"],
                secret,
                "ssg_not_a_token",
            ],
            env={**os.environ, "NODE_EXTRA_CA_CERTS": str(cert)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["issuer"] == issuer
    active, inactive = output["answers"]
    assert active["active"] is True
    assert active["iss"] == issuer
    assert active["integration_id"] == integration_id
    assert inactive == {"active": False}
