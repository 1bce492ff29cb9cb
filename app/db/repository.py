"""A small generic repository: the SQL every domain needs, written once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import Base

ModelT = TypeVar("ModelT", bound=Base)


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so a user's ``%`` or ``_`` matches itself (ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Repository(Generic[ModelT]):
    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_id(self, id_: uuid.UUID, *, for_update: bool = False) -> ModelT | None:
        statement = select(self.model).where(self.model.id == id_)  # type: ignore[attr-defined]
        if for_update:
            statement = statement.with_for_update()
        return await self.get_one_or_none(statement)

    async def get_one_or_none(self, statement: Select[tuple[ModelT]]) -> ModelT | None:
        result = await self.session.execute(statement)
        return result.scalar_one_or_none()

    async def paginate(
        self, statement: Select[tuple[ModelT]], *, limit: int, offset: int
    ) -> tuple[Sequence[ModelT], int]:
        count_statement = select(func.count()).select_from(statement.order_by(None).subquery())
        total = (await self.session.execute(count_statement)).scalar_one()
        rows = (await self.session.execute(statement.limit(limit).offset(offset))).scalars().all()
        return rows, total

    async def create(self, obj: ModelT) -> ModelT:
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def update(self, obj: ModelT, values: dict[str, Any]) -> ModelT:
        for key, value in values.items():
            setattr(obj, key, value)
        await self.session.flush()
        return obj
