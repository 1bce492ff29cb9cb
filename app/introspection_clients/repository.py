from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from app.db.repository import Repository, RepositoryIDMixin
from app.introspection_clients.models import IntrospectionClient


class IntrospectionClientRepository(
    RepositoryIDMixin[IntrospectionClient], Repository[IntrospectionClient]
):
    model = IntrospectionClient

    async def list_clients(
        self, *, limit: int, offset: int
    ) -> tuple[Sequence[IntrospectionClient], int]:
        statement = select(IntrospectionClient).order_by(
            IntrospectionClient.created_at.desc(), IntrospectionClient.id.desc()
        )
        return await self.paginate(statement, limit=limit, offset=offset)
