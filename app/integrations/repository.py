from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from app.db.repository import (
    KeysetPage,
    Repository,
    RepositoryIDMixin,
    RepositorySoftDeletionMixin,
    escape_like,
)
from app.integrations.models import Integration
from app.integrations.schemas import IntegrationSort

# Each sort: its key columns (unique together; an index's columns) and direction.
SORT_KEYS: dict[IntegrationSort, tuple[tuple[Any, ...], bool]] = {
    IntegrationSort.NAME: ((Integration.name_key, Integration.id), False),
    IntegrationSort.NAME_DESC: ((Integration.name_key, Integration.id), True),
    IntegrationSort.CREATED_AT: ((Integration.created_at, Integration.id), False),
    IntegrationSort.CREATED_AT_DESC: ((Integration.created_at, Integration.id), True),
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
        self,
        *,
        q: str | None,
        active: bool | None,
        sort: IntegrationSort,
        limit: int,
        offset: int,
        after: tuple[Any, ...] | None = None,
    ) -> KeysetPage[Integration]:
        statement = self.get_base_statement()
        if q:
            pattern = f"%{escape_like(q.casefold())}%"
            statement = statement.where(Integration.name_key.like(pattern, escape="\\"))
        if active is not None:
            # "=" rather than "IS": only an equality can use the (active, ...) index.
            statement = statement.where(Integration.active == active)
        keys, descending = SORT_KEYS[sort]
        return await self.keyset_page(
            statement, keys=keys, descending=descending, limit=limit, offset=offset, after=after
        )

    async def count_tokens(
        self, integration_id: uuid.UUID, *, issued: int = 0, revoked: int = 0
    ) -> None:
        """Move the integration's token counters, in the caller's transaction.

        A relative update, so concurrent transactions add up instead of overwriting; the
        session's copy of the row is updated too.
        """
        if not issued and not revoked:
            return
        await self.session.execute(
            update(Integration)
            .where(Integration.id == integration_id)
            .values(
                token_count=Integration.token_count + issued,
                revoked_token_count=Integration.revoked_token_count + revoked,
            )
        )

    async def lock_including_deleted(self, ids: Sequence[uuid.UUID]) -> None:
        """Lock these integrations' rows (deleted or not) in id order, for the transaction."""
        ordered = sorted(set(ids))
        for start in range(0, len(ordered), _IN_CHUNK):
            await self.session.execute(
                select(Integration.id)
                .where(Integration.id.in_(ordered[start : start + _IN_CHUNK]))
                .order_by(Integration.id)
                .with_for_update()
            )

    async def get_many_including_deleted(
        self, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Integration]:
        found: dict[uuid.UUID, Integration] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            statement = select(Integration).where(Integration.id.in_(chunk))
            found.update((i.id, i) for i in await self.get_all(statement))
        return found
