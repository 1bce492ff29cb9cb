"""A small generic repository: the SQL every domain needs, written once.

Modelled on polar's ``kit/repository/base.py``: a base that knows the model, and mixins
for what only some models have. ``RepositoryIDMixin`` looks rows up by their UUID key;
``RepositorySoftDeletionMixin`` makes ``deleted_at IS NULL`` the default, written here
once instead of in every query.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Select, func, literal, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped

from app.db.base import Base
from app.errors import NotFound

ModelT = TypeVar("ModelT", bound=Base)
M = TypeVar("M")


class HasID(Protocol):
    id: Mapped[uuid.UUID]


class HasSoftDeletion(Protocol):
    deleted_at: Mapped[datetime | None]


IDModelT = TypeVar("IDModelT", bound=HasID)
SoftDeletionModelT = TypeVar("SoftDeletionModelT", bound=HasSoftDeletion)


# A list's ``total`` counts at most this many rows when it has to count them (a filter no
# counter answers: ``q``, the integration list, the audit trail): beyond it the page says
# ``total_exact: false`` and ``total`` is this lower bound ("1,000+"). Counting a
# 200,000-row result on every page would cost more than reading the page; ``next_cursor``
# pages on without knowing the total.
COUNT_CAP = 1_000


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    """One page of rows; ``next_after`` is the last row's sort key when the page is full."""

    items: Sequence[M]
    total: int
    total_exact: bool
    next_after: tuple[Any, ...] | None


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so a user's ``%`` or ``_`` matches itself (ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Repository(Generic[ModelT]):
    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def get_base_statement(self) -> Select[tuple[ModelT]]:
        """Every query of this repository starts here (mixins narrow it)."""
        return select(self.model)

    async def get_one_or_none(self, statement: Select[tuple[ModelT]]) -> ModelT | None:
        result = await self.session.execute(statement)
        return result.scalar_one_or_none()

    async def get_all(self, statement: Select[tuple[ModelT]]) -> Sequence[ModelT]:
        return (await self.session.execute(statement)).scalars().all()

    async def paginate(
        self, statement: Select[tuple[ModelT]], *, limit: int, offset: int
    ) -> tuple[Sequence[ModelT], int]:
        count_statement = select(func.count()).select_from(statement.order_by(None).subquery())
        total = (await self.session.execute(count_statement)).scalar_one()
        rows = (await self.session.execute(statement.limit(limit).offset(offset))).scalars().all()
        return rows, total

    async def capped_count(
        self, statement: Select[Any], *, cap: int | None = None
    ) -> tuple[int, bool]:
        """How many rows ``statement`` selects, counting at most ``cap`` (and whether exact)."""
        cap = COUNT_CAP if cap is None else cap
        limited: Select[Any] = (
            statement.with_only_columns(literal_column("1")).order_by(None).limit(cap + 1)
        )
        count = (
            await self.session.execute(select(func.count()).select_from(limited.subquery()))
        ).scalar_one()
        return (cap, False) if count > cap else (count, True)

    async def keyset_page(
        self,
        statement: Select[tuple[ModelT]],
        *,
        keys: Sequence[Any],
        descending: bool,
        limit: int,
        offset: int,
        after: tuple[Any, ...] | None,
        total: int | None = None,
    ) -> KeysetPage[ModelT]:
        """A page ordered by ``keys`` (unique together, an index's columns in order).

        ``after`` (a previous page's ``next_after``) continues right after that row, however
        deep, at the cost of the page alone; ``offset`` still works but reads what it skips.
        ``total``, when a counter already knows it, saves the count; otherwise the count is
        capped at ``COUNT_CAP``.
        """
        exact = True
        if total is None:
            total, exact = await self.capped_count(statement)
        if after is not None:
            bound = tuple_(
                *(literal(v, type_=key.type) for key, v in zip(keys, after, strict=True))
            )
            row = tuple_(*keys)
            statement = statement.where(row < bound if descending else row > bound)
        order = [key.desc() if descending else key.asc() for key in keys]
        statement = statement.order_by(None).order_by(*order).limit(limit).offset(offset)
        rows = (await self.session.execute(statement)).scalars().all()
        next_after = (
            tuple(getattr(rows[-1], key.key) for key in keys) if len(rows) == limit else None
        )
        return KeysetPage(rows, total, exact, next_after)

    def add(self, obj: ModelT) -> None:
        """Add without flushing: the row is written with the transaction's next flush."""
        self.session.add(obj)

    async def create(self, obj: ModelT) -> ModelT:
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def update(self, obj: ModelT, values: dict[str, Any]) -> ModelT:
        for key, value in values.items():
            setattr(obj, key, value)
        await self.session.flush()
        return obj


class RepositoryProtocol(Protocol[M]):
    """What the mixins below need of the repository they are mixed into."""

    model: type[M]

    def get_base_statement(self) -> Select[tuple[M]]: ...

    async def get_one_or_none(self, statement: Select[tuple[M]]) -> M | None: ...


class RepositoryIDMixin(Generic[IDModelT]):
    """Look-ups by the model's UUID primary key."""

    async def get_by_id(
        self: RepositoryProtocol[IDModelT], id_: uuid.UUID, *, for_update: bool = False
    ) -> IDModelT | None:
        statement = self.get_base_statement().where(self.model.id == id_)
        if for_update:
            statement = statement.with_for_update()
        return await self.get_one_or_none(statement)

    async def get_by_id_or_raise(
        self: RepositoryProtocol[IDModelT],
        id_: uuid.UUID,
        *,
        not_found: str,
        for_update: bool = False,
    ) -> IDModelT:
        """The row, or ``NotFound(not_found)`` for the caller to answer 404 with."""
        statement = self.get_base_statement().where(self.model.id == id_)
        if for_update:
            statement = statement.with_for_update()
        row = await self.get_one_or_none(statement)
        if row is None:
            raise NotFound(not_found)
        return row


class RepositorySoftDeletionMixin(Generic[SoftDeletionModelT]):
    """Rows with ``deleted_at`` set are invisible to every query built on the base.

    Mixed in before ``Repository``, so its ``get_base_statement`` is the one used.
    """

    def get_base_statement(
        self: RepositoryProtocol[SoftDeletionModelT],
    ) -> Select[tuple[SoftDeletionModelT]]:
        return select(self.model).where(self.model.deleted_at.is_(None))
