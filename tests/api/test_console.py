"""The console's static files: served at /console/ by the management component only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.apps import create_introspection_app, create_management_app
from app.config import Settings
from tests.api.test_components import running

INDEX = (
    '<!doctype html><div id="root"></div>'
    '<script type="module" src="/console/assets/app-1.js"></script>'
)


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "app-1.js").write_text("console.log('app')")
    (tmp_path.parent / "secret.txt").write_text("outside the build")
    monkeypatch.setenv("CONSOLE_DIST", str(tmp_path))
    return tmp_path


def assert_secured(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'self'")
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response.headers["x-frame-options"] == "DENY"


async def test_root_redirects_to_the_console_on_the_management_component(
    settings: Settings,
) -> None:
    async with running(create_management_app, settings) as http:
        for path in ("/", "/console"):
            response = await http.get(path)
            assert response.status_code == 307
            assert response.headers["location"] == "/console/"


async def test_introspection_component_serves_no_console(settings: Settings, built: Path) -> None:
    async with running(create_introspection_app, settings) as http:
        for path in ("/", "/console/", "/console/assets/app-1.js"):
            assert (await http.get(path)).status_code == 404


@pytest.mark.parametrize(
    "path", ["/console/", "/console/integrations/abc/tokens/def", "/console/audit"]
)
async def test_client_side_routes_fall_back_to_index_html(
    client: httpx.AsyncClient, built: Path, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"
    assert_secured(response)


async def test_assets_are_served_with_a_long_cache(client: httpx.AsyncClient, built: Path) -> None:
    response = await client.get("/console/assets/app-1.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "immutable" in response.headers["cache-control"]
    assert_secured(response)


@pytest.mark.parametrize(
    "path", ["/console/assets/missing.js", "/console/favicon.ico", "/console/..%2Fsecret.txt"]
)
async def test_missing_files_are_404_not_index_html(
    client: httpx.AsyncClient, built: Path, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "outside the build" not in response.text


async def test_a_missing_build_says_how_to_build_it(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSOLE_DIST", str(tmp_path / "nothing-here"))
    response = await client.get("/console/")
    assert response.status_code == 404  # not a 5xx: the service itself is fine
    assert response.text == "the console is not built: run make console\n"
    assert_secured(response)
