"""The RFC 7662 answer and the OAuth error, as documented in OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel


class IntrospectionResponse(BaseModel):
    """RFC 7662 response. For anything but a valid token only ``active: false`` is sent."""

    active: bool
    token_type: str | None = None
    scope: str | None = None
    merchant_scope: str | None = None
    client_id: str | None = None
    sub: str | None = None
    jti: str | None = None
    iat: int | None = None
    exp: int | None = None
    iss: str | None = None
    integration_id: str | None = None
    integration_name: str | None = None


class OAuthError(BaseModel):
    error: str
