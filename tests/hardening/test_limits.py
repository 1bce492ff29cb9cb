"""Every input is bounded, and going over a bound is a clear 4xx.

Bodies (413), strings, lists and numbers in bodies and queries (422), page sizes (422),
the request line (414) and the header section (431, refused while it arrives). The
bounds on fields are read from the OpenAPI document, so a new field without one fails
``test_every_input_in_the_schema_is_bounded``; the schemathesis run (test_fuzz.py) checks
that the server enforces what the document says.
"""

from __future__ import annotations

import select
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.apps import create_app
from app.config import Settings
from app.introspection.service import MAX_FORM_BYTES
from app.openapi import openapi_document
from app.server import MAX_HEADER_BYTES, MAX_TARGET_BYTES
from devkit.server import RunningServer, uvicorn_server
from tests.fixtures.api import create_integration
from tests.hardening.helpers import route_table, server_env

API = "/api/v1"
DOCUMENT = openapi_document()
ONE_MIB = 1024 * 1024


# --- what the schema promises ---------------------------------------------------------


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = DOCUMENT["components"]["schemas"][name]
    return schema


def _unbounded(schema: dict[str, Any], where: str) -> Iterator[str]:
    """Where under ``schema`` a string, array or number has no upper bound."""
    schema = _resolve(schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for index, option in enumerate(schema.get(key, [])):
            yield from _unbounded(option, f"{where}[{index}]")
    kind = schema.get("type")
    fixed = "enum" in schema or "const" in schema
    if kind == "string" and not fixed and "maxLength" not in schema:
        pattern = schema.get("pattern", "")
        if schema.get("format") not in ("uuid", "date-time") and (
            not pattern or any(c in pattern for c in "*+{")
        ):
            yield where
    if kind == "array":
        if "maxItems" not in schema:
            yield where
        yield from _unbounded(schema.get("items", {}), f"{where}[]")
    if kind == "integer" and "maximum" not in schema:
        yield where
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from _unbounded(sub, f"{where}.{name}")


def test_every_input_in_the_schema_is_bounded() -> None:
    unbounded = []
    for path, item in DOCUMENT["paths"].items():
        if not path.startswith(API):
            continue  # /oauth2/*: a form of at most 4 KiB (413 beyond), parsed by hand
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "header", "cookie"):
                    unbounded += _unbounded(parameter["schema"], f"{label} {parameter['name']}")
            for media in operation.get("requestBody", {}).get("content", {}).values():
                unbounded += _unbounded(media["schema"], f"{label} body")
    assert not unbounded, f"inputs without an upper bound: {unbounded}"


# --- bodies ---------------------------------------------------------------------------


WRITE_ROUTES = [
    r
    for r in route_table(create_app(Settings(environment="development")))
    if r.path.startswith(API) and r.method in ("POST", "PATCH")
]


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=str)
async def test_a_body_over_the_limit_is_413_on_every_route(
    client: httpx.AsyncClient, admin_headers: dict[str, str], route: Any
) -> None:
    url = route.path.format(
        **dict.fromkeys(("integration_id", "token_id", "client_id"), uuid.uuid4())
    )
    body = b'{"name": "' + b"x" * ONE_MIB + b'"}'
    response = await client.request(
        route.method,
        url,
        content=body,
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413


async def test_an_introspection_form_over_4_kib_is_413(
    client: httpx.AsyncClient, gateway_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/oauth2/introspect",
        content=b"token=" + b"a" * MAX_FORM_BYTES,
        headers={**gateway_headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.json() == {"error": "invalid_request"}


# --- strings, lists, numbers ----------------------------------------------------------


async def test_over_long_strings_and_over_long_lists_are_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    integration = await create_integration(client, admin_headers)
    tokens = f"{API}/integrations/{integration['id']}/tokens"
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"  # 313 characters
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"{API}/integrations", {"name": "n" * 201, "notification_email": "a@b.com"}),
        (
            "POST",
            f"{API}/integrations",
            {"name": "n", "notification_email": "a@b.com", "description": "d" * 2001},
        ),
        ("POST", f"{API}/integrations", {"name": "n", "notification_email": email}),
        ("PATCH", f"{API}/integrations/{integration['id']}", {"name": "n" * 201}),
        ("POST", tokens, {"name": "n" * 201, "expiration_policy": "7d"}),
        ("POST", f"{API}/introspection-clients", {"name": "n" * 201}),
        ("POST", f"{tokens}/revoke", {"token_ids": [str(uuid.uuid4()) for _ in range(1001)]}),
        ("POST", f"{tokens}/revoke", {"token_ids": []}),
        ("POST", f"{API}/leaked-tokens", {"secrets": ["ssg_x"] * 1001}),
        ("POST", f"{API}/leaked-tokens", {"secrets": []}),
        ("POST", f"{API}/leaked-tokens", {"secrets": ["ssg_" + "x" * 1000]}),
    ]
    for method, url, body in cases:
        response = await client.request(method, url, json=body, headers=admin_headers)
        assert response.status_code == 422, (method, url, response.text)
        assert response.json()["errors"], response.text
    login = await client.post(
        f"{API}/auth/token", data={"username": "u" * 151, "password": "p" * 12}
    )
    assert login.status_code == 422
    login = await client.post(
        f"{API}/auth/token", data={"username": "admin", "password": "p" * 1025}
    )
    assert login.status_code == 422


LIST_ROUTES = [
    path
    for path, item in DOCUMENT["paths"].items()
    if any(p["name"] == "limit" for p in item.get("get", {}).get("parameters", []))
]


@pytest.mark.parametrize("path", LIST_ROUTES)
async def test_page_size_and_offset_are_bounded_on_every_list(
    client: httpx.AsyncClient, admin_headers: dict[str, str], path: str
) -> None:
    integration = await create_integration(client, admin_headers)
    url = path.format(integration_id=integration["id"])
    for params in ({"limit": 501}, {"limit": 0}, {"offset": -1}, {"offset": 10**12}):
        response = await client.get(url, params=params, headers=admin_headers)
        assert response.status_code == 422, (params, response.text)
    biggest = await client.get(url, params={"limit": 500}, headers=admin_headers)
    assert biggest.status_code == 200
    assert biggest.json()["limit"] == 500


async def test_query_strings_are_bounded(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for url, params in (
        (f"{API}/integrations", {"q": "q" * 201}),
        (f"{API}/audit-events", {"action": "a" * 65}),
    ):
        response = await client.get(url, params=params, headers=admin_headers)
        assert response.status_code == 422, response.text


async def test_over_long_credentials_are_refused_unread(
    client: httpx.AsyncClient, gateway_headers: dict[str, str]
) -> None:
    response = await client.get(
        f"{API}/integrations", headers={"Authorization": "Bearer ssa_" + "a" * 600}
    )
    assert response.status_code == 401
    response = await client.post(
        "/oauth2/introspect",
        data={"token": "ssg_x"},
        headers={"Authorization": gateway_headers["Authorization"] + "A" * 1100},
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


# --- the request head, at the HTTP server ----------------------------------------------


@pytest.fixture(scope="module")
def http_server(database_url: str) -> Iterator[RunningServer]:
    with uvicorn_server(server_env(database_url)) as running:
        yield running


def _exchange(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        return sock.recv(4096)


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


@pytest.mark.process
def test_request_line_and_headers_are_bounded(http_server: RunningServer) -> None:
    port = http_server.port
    ok = b"GET /healthz HTTP/1.1\r\nHost: t\r\n"
    assert _status(_exchange(port, ok + b"X-Pad: " + b"a" * 8000 + b"\r\n\r\n")) == 200
    too_big = ok + b"X-Pad: " + b"a" * (MAX_HEADER_BYTES + 1) + b"\r\n\r\n"
    assert _status(_exchange(port, too_big)) == 431
    many = ok + b"".join(b"X-%d: a\r\n" % i for i in range(3000)) + b"\r\n"
    assert _status(_exchange(port, many)) == 431
    long_target = b"GET /healthz?" + b"a" * (MAX_TARGET_BYTES + 1) + b" HTTP/1.1\r\nHost: t\r\n\r\n"
    assert _status(_exchange(port, long_target)) == 414
    response = _exchange(port, ok + b"\r\n")
    assert _status(response) == 200, "the server still serves"


@pytest.mark.process
def test_an_endless_header_is_cut_off_while_it_arrives(http_server: RunningServer) -> None:
    """The server answers 431 and closes long before 20 MB of one header have arrived."""
    chunk = b"a" * 65536
    sent = 0
    with socket.create_connection(("127.0.0.1", http_server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Endless: ")
        answer = b""
        while sent < 20 * ONE_MIB:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                answer = sock.recv(4096)
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
    assert sent < 20 * ONE_MIB, "the server kept reading an endless header"
    if answer:
        assert _status(answer) == 431
