"""The README's curl walk, extracted by its markers and run as written against a live server.

Like ``make run``: a fresh SQLite database, migrated, ``bootstrap-admin`` for the password,
``python -m app serve``; the block runs under ``bash -euo pipefail`` from the repository root,
so any failing step (curl -f on an error status) fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devkit.server import ROOT, run_cli, uvicorn_server

NEEDED = ("bash", "curl", "jq")
MISSING = [tool for tool in NEEDED if shutil.which(tool) is None]
if MISSING and os.environ.get("CI") == "true":
    raise RuntimeError(f"{MISSING} required in CI (make test installs jq)")
pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(bool(MISSING), reason=f"{MISSING} not installed (make test installs jq)"),
]

WALK = re.compile(r"<!-- walk:begin -->\s*```sh\n(.*?)```\s*<!-- walk:end -->", re.DOTALL)


def readme_walk() -> str:
    found = WALK.findall((ROOT / "README.md").read_text())
    assert len(found) == 1, "README.md must hold exactly one walk:begin/walk:end block"
    return str(found[0])


def test_the_readme_walk_runs_as_written(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'walk.db'}"
    env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development"}
    run_cli(env, "migrate")
    printed = run_cli(env, "bootstrap-admin")
    match = re.search(r"password \(shown once[^)]*\): (\S+)", printed)
    assert match is not None, printed
    with uvicorn_server(env) as server:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", readme_walk()],
            cwd=ROOT,
            env={**env, "B": f"http://127.0.0.1:{server.port}", "PASSWORD": match.group(1)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    output = result.stdout
    assert '"active":true' in output.replace(" ", "")
    assert "token.regenerated" in output
    assert '"revoked":1,"already_inactive":0,"unknown":1' in output.replace(" ", "")
