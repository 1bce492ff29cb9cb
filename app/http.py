"""Small HTTP helpers shared by the endpoint modules."""

from __future__ import annotations

from fastapi import Response
from fastapi.openapi.models import APIKey, APIKeyIn, HTTPBase
from fastapi.openapi.models import SecurityBase as SecurityBaseModel
from fastapi.security.base import SecurityBase

NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def forbid_caching(response: Response) -> None:
    """For every response that carries a secret."""
    response.headers.update(NO_STORE_HEADERS)


class DocumentedSecurity(SecurityBase):
    """States in OpenAPI how a route's caller authenticates; checks nothing itself.

    For the introspection routes, which verify their callers on the raw ASGI fast path
    (and in the service), not through FastAPI dependencies.
    """

    def __init__(self, model: SecurityBaseModel, *, scheme_name: str) -> None:
        self.model = model
        self.scheme_name = scheme_name

    async def __call__(self) -> None:
        return None


INTROSPECTION_CLIENT_BASIC = DocumentedSecurity(
    HTTPBase(scheme="basic", description="client_id:client_secret of an introspection client"),
    scheme_name="IntrospectionClient",
)
GATEWAY_CREDENTIALS = DocumentedSecurity(
    APIKey(
        **{"in": APIKeyIn.header},
        name="X-Gateway-Authorization",
        description="Basic base64(client_id:client_secret) of an introspection client",
    ),
    scheme_name="GatewayCredentials",
)
