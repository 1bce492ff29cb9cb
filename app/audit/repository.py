from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, insert, literal, literal_column, select, true

from app.audit.models import AuditEvent
from app.db.repository import KeysetPage, Repository

# Newest first, the id as tie-break: the trailing columns of every audit index.
LIST_KEYS = (AuditEvent.at, AuditEvent.id)


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
        after: tuple[Any, ...] | None = None,
    ) -> KeysetPage[AuditEvent]:
        statement = select(AuditEvent)
        if integration_id is not None:
            statement = statement.where(AuditEvent.integration_id == integration_id)
        if token_id is not None:
            statement = statement.where(AuditEvent.token_id == token_id)
        if action is not None:
            statement = statement.where(AuditEvent.action == action)
        return await self.keyset_page(
            statement, keys=LIST_KEYS, descending=True, limit=limit, offset=offset, after=after
        )

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert events in bulk (multi-row INSERTs), without building ORM objects."""
        if rows:
            await self.session.execute(insert(AuditEvent), list(rows))

    async def insert_each(
        self,
        source: Select[Any],
        *,
        at: datetime,
        actor: str,
        action: str,
        detail_columns: Sequence[str],
        static_details: dict[str, str | bool],
    ) -> None:
        """One event per row of ``source``, written by the database (``INSERT … SELECT``).

        ``source`` has the columns ``token_id``, ``integration_id`` and ``detail_columns``;
        each event's details are those columns plus ``static_details``. However many rows,
        nothing passes through Python.
        """
        rows = source.subquery()
        postgres = self.session.get_bind().dialect.name == "postgresql"
        pairs: list[Any] = []
        for name in detail_columns:
            pairs += [literal(name), rows.c[name]]
        for name, value in static_details.items():
            pairs += [literal(name), _json_scalar(value, postgres=postgres)]
        new_id: ColumnElement[Any] = (
            func.gen_random_uuid() if postgres else func.lower(func.hex(func.randomblob(16)))
        )
        details = func.json_build_object(*pairs) if postgres else func.json_object(*pairs)
        await self.session.execute(
            insert(AuditEvent).from_select(
                ["id", "at", "actor", "action", "integration_id", "token_id", "details"],
                select(
                    new_id,
                    literal(at, AuditEvent.at.type),
                    literal(actor),
                    literal(action),
                    rows.c.integration_id,
                    rows.c.token_id,
                    details,
                ),
            )
        )


def _json_scalar(value: str | bool, *, postgres: bool) -> ColumnElement[Any]:
    if isinstance(value, bool):
        if postgres:
            return true() if value else literal_column("false")
        return func.json("true" if value else "false")
    return literal(value)
