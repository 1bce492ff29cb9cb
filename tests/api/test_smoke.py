from __future__ import annotations

import httpx

from tests.fixtures.api import create_integration, issue_token


async def test_issue_and_introspect_round_trip(
    client: httpx.AsyncClient, admin_headers: dict[str, str], gateway_headers: dict[str, str]
) -> None:
    integration = await create_integration(client, admin_headers)
    issued = await issue_token(client, admin_headers, integration["id"])
    response = await client.post(
        "/oauth2/introspect", data={"token": issued["secret"]}, headers=gateway_headers
    )
    assert response.status_code == 200
    assert response.json()["active"] is True
