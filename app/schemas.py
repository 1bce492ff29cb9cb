"""Schemas shared by every domain: pagination, keyset cursors and the page envelope."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app import token_format
from app.db.repository import KeysetPage
from app.errors import InvalidInput

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
    total: int = Field(
        description=(
            "How many items match. Exact when `total_exact` is true; otherwise a lower "
            "bound (the count stops at 1,000 where no counter knows it)."
        )
    )
    limit: int
    offset: int
    total_exact: bool = Field(
        default=True, description="False when `total` is the capped lower bound."
    )
    next_cursor: str | None = Field(
        default=None,
        description=(
            "Pass as `?cursor=` (with the same filters and sort) for the page after this "
            "one, at the cost of one page however deep; null when this page is the last."
        ),
    )


class PageParams(BaseModel):
    limit: int
    offset: int
    cursor: str | None = None


CURSOR_LOC = ["query", "cursor"]


def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=2048,
            pattern=r"^[A-Za-z0-9_-]+$",
            description=(
                "Keyset pagination: the `next_cursor` of the previous page. Opaque; valid "
                "only for the same list and sort; not combined with `offset`."
            ),
        ),
    ] = None,
) -> PageParams:
    if cursor is not None and offset:
        raise InvalidInput("Give either cursor or offset, not both.", loc=CURSOR_LOC)
    return PageParams(limit=limit, offset=offset, cursor=cursor)


PageDep = Annotated[PageParams, Depends(_page_params)]


_CURSOR_TYPES: dict[type, str] = {datetime: "datetime", uuid.UUID: "uuid", str: "str"}


class Keyset:
    """Encodes and checks the opaque cursor of one list ordered by ``types``' columns.

    A cursor is URL-safe base64 of ``[kind, value, ...]``: the list (and sort) it belongs
    to, and the sort key of the last item shown. Anything that does not decode to exactly
    that shape is refused as bad input (422), never passed on to SQL.
    """

    def __init__(self, kind: str, types: Sequence[type]) -> None:
        assert all(t in _CURSOR_TYPES for t in types)
        self.kind = kind
        self.types = tuple(types)

    def encode(self, values: tuple[Any, ...] | None) -> str | None:
        if values is None:
            return None
        raw = json.dumps(
            [self.kind, *(v.isoformat() if isinstance(v, datetime) else str(v) for v in values)],
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def page(
        self, result: KeysetPage[Any], items: list[ItemT], params: PageParams
    ) -> Page[ItemT]:
        """The list body: ``items`` (``result``'s rows, rendered), its counts and cursor."""
        return Page(
            items=items,
            total=result.total,
            total_exact=result.total_exact,
            limit=params.limit,
            offset=params.offset,
            next_cursor=self.encode(result.next_after),
        )

    def decode(self, cursor: str | None) -> tuple[Any, ...] | None:
        if cursor is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
            if (
                not isinstance(data, list)
                or len(data) != len(self.types) + 1
                or data[0] != self.kind
                or not all(isinstance(v, str) for v in data[1:])
            ):
                raise ValueError("not a cursor of this list")
            return tuple(self._value(t, v) for t, v in zip(self.types, data[1:], strict=True))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidInput(
                "The cursor is not valid for this list (or its sort); start without one.",
                loc=CURSOR_LOC,
            ) from None

    @staticmethod
    def _value(type_: type, text: str) -> Any:
        if type_ is datetime:
            value = datetime.fromisoformat(text)
            if value.tzinfo is None:
                raise ValueError("naive timestamp")
            return value
        if type_ is uuid.UUID:
            return uuid.UUID(text)
        if "\x00" in text:
            raise ValueError("NUL in a cursor")  # PostgreSQL text cannot hold it
        return text
