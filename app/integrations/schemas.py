from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import email_validator
from pydantic import BaseModel, EmailStr, StrictBool, StringConstraints, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from app.schemas import NO_NUL, InputSchema, Name, Schema, omittable

Description = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


# email-validator also refuses addresses under special-use domains (RFC 6761: .test,
# .local, .invalid, ...), where no mail can arrive; the schema says so too.
_SPECIAL_USE_DOMAIN = "(^|[.@])({})[.]?$".format(
    "|".join(_any_case(name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES)
)
NotificationEmail = Annotated[
    EmailStr,
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": 254,
            "not": {"pattern": _SPECIAL_USE_DOMAIN},
            "description": "Where notifications go; not under a special-use domain such as .test",
        }
    ),
]


class IntegrationSort(StrEnum):
    NAME = "name"
    NAME_DESC = "-name"
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"


class IntegrationCreate(InputSchema):
    name: Name
    description: Description = ""
    notification_email: NotificationEmail
    active: StrictBool = True


class IntegrationUpdate(InputSchema):
    # Omitting a field leaves it unchanged; sending null for it is a mistake.
    name: Name | SkipJsonSchema[None] = omittable()
    description: Description | SkipJsonSchema[None] = omittable()
    notification_email: NotificationEmail | SkipJsonSchema[None] = omittable()
    active: StrictBool | SkipJsonSchema[None] = omittable()


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
