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
