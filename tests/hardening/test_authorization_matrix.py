"""The authorisation matrix: every route of the app, called as every kind of caller.

The routes come from the app's own route table (and its raw ASGI fast paths), so a new
route is in the matrix the moment it exists. Who may call it follows from ``access``, a
rule by path and method; a route that no rule covers fails
``test_every_route_is_classified`` until someone decides who may call it.

Callers: ``anonymous`` (no credentials), ``viewer`` and ``admin`` (admin sessions of
those roles, sent as ``Authorization: Bearer``), and ``introspection_client`` (an
introspection client's credentials: HTTP Basic in ``Authorization``, or in
``X-Gateway-Authorization`` for forward-auth, which is how each route takes them).

What the contract allows, per kind of route:

| access | anonymous | viewer | admin | introspection client |
|---|---|---|---|---|
| public (health, metrics, docs) | 200 | 200 | 200 | 200 |
| login | may log in | may log in | may log in | may log in |
| read (`GET /api/v1/...`, `/api/v1/auth/*`) | 401 | 2xx | 2xx | 401 |
| write (other methods under `/api/v1/`) | 401 | 403 | 2xx | 401 |
| introspection (`POST /oauth2/introspect`) | 401 invalid_client | 401 | 401 | 200 |
| forward-auth (`/oauth2/forward-auth`) | 403 | 403 | 403 | 200 |
| wrong method (routes that only answer 405) | 405 | 405 | 405 | 405 |
| console (`/`, `/console/...`: static SPA files) | 200/307 | 200/307 | 200/307 | 200/307 |
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app import token_format
from app.apps import create_app
from app.auth.models import AdminSession, AdminUser
from app.config import Settings
from app.db.base import utc_now
from app.db.session import begin_write
from tests.fixtures.api import VIEWER_PASSWORD, create_integration, issue_token, state
from tests.hardening.helpers import Route, route_table

API = "/api/v1"
PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/docs/oauth2-redirect",
    "/docs/assets/swagger-ui-bundle.js",
    "/docs/assets/swagger-ui.css",
    "/docs/assets/favicon-32x32.png",
    "/openapi.json",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
}
CALLERS = ("anonymous", "introspection_client", "viewer", "admin")


class Access(enum.Enum):
    PUBLIC = "public"
    LOGIN = "login"
    READ = "read"
    WRITE = "write"
    INTROSPECTION = "introspection"
    FORWARD_AUTH = "forward-auth"
    SELF_REVOCATION = "self-revocation"  # only the token itself, as its own bearer
    WRONG_METHOD = "wrong method"
    CONSOLE = "console"


def access(route: Route) -> Access:
    """Who may call ``route``: the rule, by path and method. Unknown routes raise."""
    path, method = route.path, route.method
    if path in PUBLIC_PATHS:
        return Access.PUBLIC
    if path in ("/", "/console") or path.startswith("/console/"):
        return Access.CONSOLE  # the SPA's static files; its data comes from the API
    if path == "/oauth2/introspect":
        return Access.INTROSPECTION if method == "POST" else Access.WRONG_METHOD
    if path == "/oauth2/forward-auth":
        return Access.FORWARD_AUTH
    if path == "/oauth2/revoke" and method == "POST":
        return Access.SELF_REVOCATION
    if path.startswith(f"{API}/"):
        if not route.documented:
            return Access.WRONG_METHOD  # e.g. GET .../tokens/revoke, kept from {token_id}
        if path == f"{API}/auth/token" and method == "POST":
            return Access.LOGIN
        if path.startswith(f"{API}/auth/") or method in ("GET", "HEAD"):
            return Access.READ  # any session: reading, or ending one's own session
        return Access.WRITE
    raise LookupError(f"no access rule for {route}: decide who may call it in access()")


ROUTES = route_table(create_app(Settings(environment="development")))


def test_every_route_is_classified() -> None:
    unclassified = []
    for route in ROUTES:
        try:
            access(route)
        except LookupError:
            unclassified.append(str(route))
    assert not unclassified, f"routes without an access rule: {unclassified}"


def test_the_matrix_covers_the_routes_the_contract_names() -> None:
    """Guards the table above: it is really read from the app."""
    served = {str(route) for route in ROUTES}
    for expected in (
        "POST /oauth2/introspect",
        "POST /api/v1/auth/token",
        "GET /api/v1/integrations",
        "DELETE /api/v1/integrations/{integration_id}",
        "POST /api/v1/integrations/{integration_id}/tokens/{token_id}/regenerate",
        "POST /api/v1/introspection-clients/{client_id}/revoke",
        "GET /api/v1/audit-events",
        "GET /readyz",
    ):
        assert expected in served


# --- calling every route as every caller ---------------------------------------------


@dataclass
class World:
    """Real objects for the path parameters, and every caller's credentials."""

    ids: dict[str, str]
    token_secret: str
    headers: dict[str, dict[str, str]]
    gateway_basic: str


SAMPLE_BODIES: dict[str, Callable[[World], Any]] = {
    f"POST {API}/integrations": lambda w: {
        "name": "Matrix",
        "notification_email": "matrix@example.com",
    },
    f"PATCH {API}/integrations/{{integration_id}}": lambda w: {"description": "changed"},
    f"POST {API}/integrations/{{integration_id}}/tokens": lambda w: {
        "name": "matrix",
        "expiration_policy": "30d",
    },
    f"POST {API}/integrations/{{integration_id}}/tokens/revoke": lambda w: {"all": True},
    f"POST {API}/introspection-clients": lambda w: {"name": "matrix"},
    f"POST {API}/leaked-tokens": lambda w: {"secrets": [w.token_secret]},
}


async def _mint_session(app: FastAPI, username: str) -> dict[str, str]:
    """A session of its own for each test: calling logout ends it."""
    secret = token_format.generate(token_format.SESSION_TOKEN_PREFIX)
    async with state(app).sessionmaker() as session:
        await begin_write(session)
        user_id = (
            await session.execute(select(AdminUser.id).where(AdminUser.username == username))
        ).scalar_one()
        session.add(
            AdminSession(
                user_id=user_id,
                token_digest=token_format.digest(secret),
                expires_at=utc_now() + timedelta(hours=1),
            )
        )
        await session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def world(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    viewer_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> World:
    integration = await create_integration(client, admin_headers)
    issued = await issue_token(client, admin_headers, integration["id"])
    other_client = await client.post(
        f"{API}/introspection-clients", json={"name": "target"}, headers=admin_headers
    )
    assert other_client.status_code == 201
    return World(
        ids={
            "integration_id": integration["id"],
            "token_id": issued["token"]["id"],
            "client_id": other_client.json()["client_id"],
            "path": "integrations",  # a client-side route of the console
        },
        token_secret=issued["secret"],
        headers={
            "anonymous": {},
            "viewer": await _mint_session(app, "viewer"),
            "admin": await _mint_session(app, "admin"),
            "introspection_client": gateway_headers,
        },
        gateway_basic=gateway_headers["Authorization"],
    )


def _request(route: Route, caller: str, world: World) -> dict[str, Any]:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in world.ids, f"no value for path parameter {name} of {route}"
        return world.ids[name]

    url = re.sub(r"{([^}:]+)(?::[^}]*)?}", fill, route.path)
    headers = dict(world.headers[caller])
    kwargs: dict[str, Any] = {}
    kind = access(route)
    if kind == Access.LOGIN:
        kwargs["data"] = {"username": "viewer", "password": VIEWER_PASSWORD}
    elif kind in (Access.INTROSPECTION, Access.SELF_REVOCATION):
        kwargs["data"] = {"token": world.token_secret}
    elif kind == Access.FORWARD_AUTH:
        # The gateway's own credentials go in X-Gateway-Authorization; Authorization
        # carries the token of the request being checked (or the caller's session).
        if caller == "introspection_client":
            headers = {"X-Gateway-Authorization": world.gateway_basic}
        headers.setdefault("Authorization", f"Bearer {world.token_secret}")
    elif str(route) in SAMPLE_BODIES:
        kwargs["json"] = SAMPLE_BODIES[str(route)](world)
    return {"method": route.method, "url": url, "headers": headers, **kwargs}


def _assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


def check(route: Route, caller: str, response: httpx.Response) -> None:
    """What the contract allows ``caller`` on ``route``."""
    status = response.status_code
    assert status < 500, response.text
    kind = access(route)
    if kind in (Access.PUBLIC, Access.LOGIN):
        assert status == 200, response.text
    elif kind == Access.WRONG_METHOD:
        assert status == 405, response.text
    elif kind == Access.CONSOLE:  # 404 only while the console is not built
        not_built = response.text.startswith("the console is not built")
        assert status in (200, 307) or (status == 404 and (not_built or route.method == "HEAD"))
    elif kind == Access.INTROSPECTION:
        if caller == "introspection_client":
            assert status == 200
            assert response.json()["active"] is True
        else:
            assert status == 401
            assert response.json() == {"error": "invalid_client"}
            assert response.headers["www-authenticate"] == 'Basic realm="introspection"'
    elif kind == Access.FORWARD_AUTH:
        if caller == "introspection_client":
            assert status == 200
            assert response.headers["x-merchant-scope"] == "all"
        else:
            assert status == 403
            assert response.content == b""
    elif kind == Access.SELF_REVOCATION:
        # No caller here holds the token as its bearer: never revoked on their word.
        assert status == (401 if caller in ("anonymous", "introspection_client") else 400)
        assert response.json()["error"] in ("invalid_token", "invalid_request")
    elif caller in ("anonymous", "introspection_client"):
        _assert_unauthenticated(response)
    elif kind == Access.WRITE and caller == "viewer":
        assert status == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    elif (
        str(route) in SAMPLE_BODIES
        or route.method in ("GET", "HEAD", "DELETE")
        or (route.method == "POST" and route.path.endswith(("/revoke", "/regenerate", "/logout")))
    ):
        assert 200 <= status < 300, response.text  # a valid request: done
    else:  # a route without a sample body yet: at least not refused for who calls
        assert status not in (401, 403), response.text


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_each_caller_gets_what_the_contract_allows(
    client: httpx.AsyncClient, world: World, route: Route
) -> None:
    # In this order, so that only the last caller (admin) can change anything.
    for caller in CALLERS:
        response = await client.request(**_request(route, caller, world))
        try:
            check(route, caller, response)
        except AssertionError as failure:
            raise AssertionError(f"{route} as {caller}: {failure}") from None


async def test_a_session_of_an_unknown_kind_of_token_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    """Neither an access token nor a client secret works as a session, nor the reverse."""
    for bearer in (world.token_secret, world.gateway_basic.split()[1], uuid.uuid4().hex):
        response = await client.get(
            f"{API}/integrations", headers={"Authorization": f"Bearer {bearer}"}
        )
        _assert_unauthenticated(response)
    session = world.headers["admin"]["Authorization"]
    response = await client.post(
        "/oauth2/introspect",
        data={"token": world.token_secret},
        headers={"Authorization": session.replace("Bearer", "Basic")},
    )
    assert response.status_code == 401
