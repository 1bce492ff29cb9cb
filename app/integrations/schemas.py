from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, EmailStr, StringConstraints, model_validator

from app.schemas import NO_NUL, InputSchema, Name, Schema

Description = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]


class IntegrationSort(StrEnum):
    NAME = "name"
    NAME_DESC = "-name"
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"


class IntegrationCreate(InputSchema):
    name: Name
    description: Description = ""
    notification_email: EmailStr
    active: bool = True


class IntegrationUpdate(InputSchema):
    name: Name | None = None
    description: Description | None = None
    notification_email: EmailStr | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _no_explicit_nulls(self) -> IntegrationUpdate:
        # Omitting a field leaves it unchanged; sending null for it is a mistake.
        for field in self.model_fields_set:
            if getattr(self, field) is None:
                raise ValueError(f"{field} may be omitted but not null")
        return self


class TokenCounts(BaseModel):
    active: int = 0
    expired: int = 0
    revoked: int = 0


class IntegrationOut(Schema):
    id: uuid.UUID
    name: str
    description: str
    notification_email: str
    active: bool
    created_at: datetime
    updated_at: datetime
    token_counts: TokenCounts
