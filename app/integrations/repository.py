from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import UnaryExpression, select

from app.db.repository import (
    Repository,
    RepositoryIDMixin,
    RepositorySoftDeletionMixin,
    escape_like,
)
from app.integrations.models import Integration
from app.integrations.schemas import IntegrationSort

_ORDER: dict[IntegrationSort, tuple[UnaryExpression[Any], ...]] = {
    IntegrationSort.NAME: (Integration.name_key.asc(), Integration.id.asc()),
    IntegrationSort.NAME_DESC: (Integration.name_key.desc(), Integration.id.desc()),
    IntegrationSort.CREATED_AT: (Integration.created_at.asc(), Integration.id.asc()),
    IntegrationSort.CREATED_AT_DESC: (Integration.created_at.desc(), Integration.id.desc()),
}

# Ids per IN (...) list: well under every driver's bound-parameter limit.
_IN_CHUNK = 500


class IntegrationRepository(
    RepositorySoftDeletionMixin[Integration],
    RepositoryIDMixin[Integration],
    Repository[Integration],
):
    """Integrations that are not deleted: a deleted one is invisible to every query here."""

    model = Integration

    async def name_taken(self, name_key: str, *, exclude_id: uuid.UUID | None = None) -> bool:
        statement = self.get_base_statement().where(Integration.name_key == name_key)
        if exclude_id is not None:
            statement = statement.where(Integration.id != exclude_id)
        return await self.get_one_or_none(statement.limit(1)) is not None

    async def list(
        self, *, q: str | None, active: bool | None, sort: IntegrationSort, limit: int, offset: int
    ) -> tuple[Sequence[Integration], int]:
        statement = self.get_base_statement()
        if q:
            pattern = f"%{escape_like(q.casefold())}%"
            statement = statement.where(Integration.name_key.like(pattern, escape="\\"))
        if active is not None:
            statement = statement.where(Integration.active.is_(active))
        statement = statement.order_by(*_ORDER[sort])
        return await self.paginate(statement, limit=limit, offset=offset)

    async def get_many_including_deleted(
        self, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Integration]:
        found: dict[uuid.UUID, Integration] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            statement = select(Integration).where(Integration.id.in_(chunk))
            found.update((i.id, i) for i in await self.get_all(statement))
        return found
