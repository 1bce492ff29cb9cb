"""/docs renders in a real browser with nothing but the service reachable.

Chromium (Debian's; make test installs it) loads /docs from a live ``python -m app serve``
with every host name other than 127.0.0.1 unresolvable, so a CDN asset would fail to load and
leave the page blank. The DOM after scripts ran must show the API's operations.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from devkit.server import uvicorn_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI") == "true":
    raise RuntimeError("chromium is required in CI (make test installs it with apt-get)")
pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test does)"),
]


def rendered_dom(url: str, profile: Path) -> str:
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            # Nothing off this machine: every name but 127.0.0.1 fails to resolve.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_docs_render_operations_without_internet(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "test"}
    with uvicorn_server(env) as server:
        base = f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(f"{base}/docs", timeout=10) as response:
            page = response.read().decode()
        assert "https://" not in page, "the page still loads something from the internet"
        dom = rendered_dom(f"{base}/docs", tmp_path / "profile")
    assert "opblock" in dom, dom[-2000:]  # Swagger UI's operation blocks
    assert "/api/v1/integrations" in dom
    assert "/oauth2/introspect" in dom
