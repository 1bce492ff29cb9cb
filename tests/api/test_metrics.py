"""/metrics: Prometheus text with request, introspection, cache and invalidation series."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.fixtures.api import create_integration, issue_token, settle_cache


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus exposition, 0 if absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.rsplit("} ", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    template = "/api/v1/integrations/{integration_id}"
    before = sample(await scrape(client), "gi_http_requests_total", route=template, status="404")
    missing = "/api/v1/integrations/00000000-0000-0000-0000-000000000000"
    assert (await client.get(missing, headers=admin_headers)).status_code == 404
    after = sample(await scrape(client), "gi_http_requests_total", route=template, status="404")
    assert after == before + 1


async def test_introspection_outcomes_cache_and_invalidations_are_counted(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    gateway_headers: dict[str, str],
) -> None:
    integration = await create_integration(client, admin_headers)
    issued = await issue_token(client, admin_headers, integration["id"])
    await settle_cache(app)  # on SQLite, so that seeing these commits late empties no hit
    before = await scrape(client)
    for _ in range(3):
        await client.post(
            "/oauth2/introspect", data={"token": issued["secret"]}, headers=gateway_headers
        )
    await client.post("/oauth2/introspect", data={"token": issued["secret"]})
    revoke = f"/api/v1/integrations/{integration['id']}/tokens/{issued['token']['id']}/revoke"
    await client.post(revoke, headers=admin_headers)
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("gi_introspection_outcomes_total", endpoint="introspect", outcome="active") == 3
    assert (
        delta("gi_introspection_outcomes_total", endpoint="introspect", outcome="invalid_client")
        == 1
    )
    assert delta("gi_introspection_cache_total", result="hit") >= 2
    assert delta("gi_introspection_cache_total", result="miss") >= 1
    assert delta("gi_cache_invalidations_total", source="local") >= 1


async def test_connection_gauges_are_exposed(client: httpx.AsyncClient) -> None:
    assert "gi_db_connections_in_use" in await scrape(client)
