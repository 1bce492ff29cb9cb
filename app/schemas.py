"""Schemas shared by every domain: pagination and the page envelope."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app import token_format

ItemT = TypeVar("ItemT")

MAX_PAGE_SIZE = 500

# PostgreSQL text cannot hold NUL: refuse it as bad input instead of failing in the driver.
NO_NUL = r"^[^\x00]*$"

# No control characters in names: they end up in mail subjects, log lines and headers.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"

# The name of an integration, a token or an introspection client.
Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=NO_CONTROL_CHARACTERS
    ),
]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**constraints: Any) -> Any:
    """A field that may be left out but, when sent, must not be null.

    Use with a ``T | SkipJsonSchema[None]`` annotation: the schema then shows only ``T``
    (no null, no ``default: null``), which is exactly what the API accepts; the model
    refuses explicit nulls (see ``InputSchema``).
    """
    return Field(default=None, json_schema_extra=_no_default, **constraints)


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class InputSchema(BaseModel):
    """Request bodies: unknown fields are refused instead of silently ignored.

    Fields declared with ``omittable()`` may be left out but not sent as null. No text
    field may hold something shaped like one of our secrets (a token pasted into a name
    would be stored and shown to every viewer), unless the schema exists to carry them.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    carries_secrets: ClassVar[bool] = False

    @model_validator(mode="after")
    def _no_pasted_secrets(self) -> Self:
        if type(self).carries_secrets:
            return self
        for name in self.model_fields_set:
            value = getattr(self, name)
            if isinstance(value, str) and token_format.contains_secret(value):
                raise ValueError(
                    f"{name} looks like a secret (an access token, session token or client "
                    "secret); never paste a secret here"
                )
        return self

    @model_validator(mode="after")
    def _no_explicit_nulls(self) -> Self:
        for name in self.model_fields_set:
            field = type(self).model_fields[name]
            if getattr(self, name) is None and field.json_schema_extra is _no_default:
                raise ValueError(f"{name} may be omitted but not null")
        return self


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    limit: int
    offset: int


def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page_params)]
