from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.schemas import InputSchema, Name


class IntrospectionClientCreate(InputSchema):
    name: Name


class IntrospectionClientOut(BaseModel):
    client_id: uuid.UUID
    name: str
    created_at: datetime
    revoked_at: datetime | None
    active: bool


class IntrospectionClientCreated(BaseModel):
    client_id: uuid.UUID
    client_secret: str = Field(description="Shown only in this response; store it now.")
    name: str


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
