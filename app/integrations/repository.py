from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import UnaryExpression, case, func, select

from app.db.repository import Repository, escape_like
from app.integrations.models import Integration
from app.integrations.schemas import IntegrationSort, TokenCounts
from app.tokens.models import AccessToken

_ORDER: dict[IntegrationSort, tuple[UnaryExpression[Any], ...]] = {
    IntegrationSort.NAME: (Integration.name_key.asc(), Integration.id.asc()),
    IntegrationSort.NAME_DESC: (Integration.name_key.desc(), Integration.id.desc()),
    IntegrationSort.CREATED_AT: (Integration.created_at.asc(), Integration.id.asc()),
    IntegrationSort.CREATED_AT_DESC: (Integration.created_at.desc(), Integration.id.desc()),
}


class IntegrationRepository(Repository[Integration]):
    model = Integration

    async def get_live(self, id_: uuid.UUID, *, for_update: bool = False) -> Integration | None:
        """The integration unless it is deleted."""
        statement = select(Integration).where(
            Integration.id == id_, Integration.deleted_at.is_(None)
        )
        if for_update:
            statement = statement.with_for_update()
        return await self.get_one_or_none(statement)

    async def name_taken(self, name_key: str, *, exclude_id: uuid.UUID | None = None) -> bool:
        statement = select(Integration.id).where(
            Integration.name_key == name_key, Integration.deleted_at.is_(None)
        )
        if exclude_id is not None:
            statement = statement.where(Integration.id != exclude_id)
        return (await self.session.execute(statement.limit(1))).first() is not None

    async def list_live(
        self, *, q: str | None, active: bool | None, sort: IntegrationSort, limit: int, offset: int
    ) -> tuple[Sequence[Integration], int]:
        statement = select(Integration).where(Integration.deleted_at.is_(None))
        if q:
            pattern = f"%{escape_like(q.casefold())}%"
            statement = statement.where(Integration.name_key.like(pattern, escape="\\"))
        if active is not None:
            statement = statement.where(Integration.active.is_(active))
        statement = statement.order_by(*_ORDER[sort])
        return await self.paginate(statement, limit=limit, offset=offset)

    async def token_counts(
        self, integration_ids: Sequence[uuid.UUID], *, now: datetime
    ) -> dict[uuid.UUID, TokenCounts]:
        if not integration_ids:
            return {}
        revoked = AccessToken.revoked_at.is_not(None)
        expired = AccessToken.revoked_at.is_(None) & (AccessToken.expires_at <= now)
        statement = (
            select(
                AccessToken.integration_id,
                func.count(),
                func.sum(case((revoked, 1), else_=0)),
                func.sum(case((expired, 1), else_=0)),
            )
            .where(AccessToken.integration_id.in_(integration_ids))
            .group_by(AccessToken.integration_id)
        )
        counts = {id_: TokenCounts() for id_ in integration_ids}
        for integration_id, total, n_revoked, n_expired in await self.session.execute(statement):
            counts[integration_id] = TokenCounts(
                active=total - n_revoked - n_expired, expired=n_expired, revoked=n_revoked
            )
        return counts
