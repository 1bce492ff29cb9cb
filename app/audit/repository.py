from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db.repository import Repository


class AuditRepository(Repository[AuditEvent]):
    model = AuditEvent

    async def list_events(
        self,
        *,
        integration_id: uuid.UUID | None,
        token_id: uuid.UUID | None,
        action: str | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[AuditEvent], int]:
        statement = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        if integration_id is not None:
            statement = statement.where(AuditEvent.integration_id == integration_id)
        if token_id is not None:
            statement = statement.where(AuditEvent.token_id == token_id)
        if action is not None:
            statement = statement.where(AuditEvent.action == action)
        return await self.paginate(statement, limit=limit, offset=offset)
