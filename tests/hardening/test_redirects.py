"""No redirect is ever built from request headers.

Starlette's ``redirect_slashes`` answered ``POST /oauth2/introspect/`` with
``307 Location: http://<the request's Host>/oauth2/introspect``: an open redirect to any
host a caller names. Every app the service builds turns it off, so a trailing slash is a
plain 404.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from app.apps import create_app, create_introspection_app, create_management_app
from app.config import Settings
from tests.api.test_components import running

FOREIGN = "evil.example"
FACTORIES: dict[str, Callable[[Settings], FastAPI]] = {
    "all": create_app,
    "management": create_management_app,
    "introspection": create_introspection_app,
}
CASES = {
    "all": [
        ("POST", "/oauth2/introspect/"),
        ("GET", "/oauth2/forward-auth/"),
        ("GET", "/api/v1/integrations/"),
        ("POST", "/api/v1/auth/token/"),
        ("GET", "/healthz/"),
    ],
    "management": [("GET", "/api/v1/integrations/"), ("GET", "/healthz/")],
    "introspection": [("POST", "/oauth2/introspect/"), ("GET", "/healthz/")],
}


@pytest.mark.parametrize("component", sorted(FACTORIES))
async def test_a_trailing_slash_is_404_never_a_redirect_to_the_host_header(
    settings: Settings, component: str
) -> None:
    async with running(FACTORIES[component], settings) as http:
        for method, path in CASES[component]:
            response = await http.request(
                method, path, headers={"Host": FOREIGN}, follow_redirects=False
            )
            assert response.status_code == 404, (method, path, response.status_code)
            assert "location" not in response.headers, (method, path)
            assert FOREIGN not in response.text


def test_no_app_redirects_slashes(settings: Settings) -> None:
    for factory in FACTORIES.values():
        assert factory(settings).router.redirect_slashes is False


async def test_the_exact_paths_still_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/api/v1/integrations")).status_code == 401
