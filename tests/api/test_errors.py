"""Bad input gets a clear problem+json answer and changes nothing; never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

PROBLEM = "application/problem+json"
ONE_MIB = 1024 * 1024


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


async def _integration_count(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return int((await client.get("/api/v1/integrations", headers=headers)).json()["total"])


async def test_body_over_one_mib_is_refused_with_413(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = b'{"name": "' + b"x" * ONE_MIB + b'", "notification_email": "a@example.com"}'
    response = await client.post(
        "/api/v1/integrations",
        content=body,
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413)
    assert await _integration_count(client, admin_headers) == 0


async def test_streamed_body_over_one_mib_is_refused_with_413(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'", "notification_email": "a@example.com"}'

    response = await client.post(
        "/api/v1/integrations",
        content=chunks(),
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413)
    assert await _integration_count(client, admin_headers) == 0


@pytest.mark.parametrize(
    "body", [b"{not json", b"", b"[]", b'"a string"', b"\xff\xfe", b'{"name": 1e999999}']
)
async def test_malformed_json_is_a_422_problem(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: bytes
) -> None:
    response = await client.post(
        "/api/v1/integrations",
        content=body,
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 422)
    assert problem["errors"]


async def test_validation_errors_never_echo_the_input(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/integrations",
        json={"name": "ok", "notification_email": "ssg_secret-looking-value"},
        headers=admin_headers,
    )
    assert_problem(response, 422)
    assert "ssg_secret-looking-value" not in response.text


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nope"), 404)


async def test_wrong_method_is_a_405_problem(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert_problem(await client.put("/api/v1/integrations", headers=admin_headers), 405)


async def test_same_problem_has_the_same_title(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    first = assert_problem(
        await client.get(
            f"/api/v1/integrations/{'0' * 8}-0000-0000-0000-{'0' * 12}", headers=admin_headers
        ),
        404,
    )
    second = assert_problem(await client.get("/api/v1/unknown"), 404)
    assert first["title"] == second["title"]


@pytest.mark.parametrize("name", ["line\nbreak", "tab\there", "bell\x07", "nul\x00"])
async def test_names_with_control_characters_are_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], name: str
) -> None:
    response = await client.post(
        "/api/v1/integrations",
        json={"name": name, "notification_email": "a@example.com"},
        headers=admin_headers,
    )
    assert_problem(response, 422)
    assert await _integration_count(client, admin_headers) == 0
