from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from app.db.repository import Repository
from app.notifications.models import OutboxMessage

_IN_CHUNK = 500

# pg_try_advisory_xact_lock keys: one sender and one expiry scan at a time, cluster-wide.
SENDER_LOCK_KEY = 0x6769_6E6F_7469_6679  # "ginotify"
SCAN_LOCK_KEY = 0x6769_6578_7069_7279  # "giexpiry"


class OutboxRepository(Repository[OutboxMessage]):
    model = OutboxMessage

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def insert_unless_duplicate(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert rows whose ``dedupe_key`` is new; a key already present is skipped silently.

        ON CONFLICT DO NOTHING makes this safe against a concurrent scan in another replica.
        """
        if not rows:
            return 0
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        statement = dialect_insert(OutboxMessage).on_conflict_do_nothing(
            index_elements=[OutboxMessage.dedupe_key]
        )
        result = await self.session.execute(statement.returning(OutboxMessage.id), list(rows))
        return len(result.all())

    async def existing_dedupe_keys(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        found: set[str] = set()
        for start in range(0, len(keys), _IN_CHUNK):
            result = await self.session.execute(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.in_(keys[start : start + _IN_CHUNK])
                )
            )
            found.update(key for key in result.scalars() if key is not None)
        return found

    async def plan_for_current_sizes(self) -> None:
        """Plan this transaction's statements for the tables as they are now (PostgreSQL).

        asyncpg prepares every statement, and PostgreSQL may keep a generic plan made while
        ``outbox_messages`` was nearly empty: the dedupe lookup then stays a sequential scan
        per page (measured: 0.5 s a page at 75,000 queued warnings, a quadratic scan).
        """
        if self._postgres:
            await self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))

    async def try_lock(self, key: int) -> bool:
        """On PostgreSQL, a transaction-scoped advisory lock (False: someone else holds it).

        SQLite serves one process, so there is nobody to exclude.
        """
        if not self._postgres:
            return True
        result = await self.session.execute(select(func.pg_try_advisory_xact_lock(key)))
        return bool(result.scalar_one())

    async def next_due(self, now: datetime, *, lock: bool) -> OutboxMessage | None:
        """The oldest pending message that is due; locked (skipping locked rows) if ``lock``."""
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
        )
        if lock:
            statement = statement.with_for_update(skip_locked=True)
        return await self.get_one_or_none(statement)

    async def mark_sent(self, message_id: uuid.UUID, *, now: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
            .values(sent_at=now, attempts=OutboxMessage.attempts + 1, last_error=None)
            .execution_options(synchronize_session=False)
        )

    async def mark_failed(
        self, message_id: uuid.UUID, *, error: str, next_attempt_at: datetime
    ) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
            .values(
                attempts=OutboxMessage.attempts + 1,
                last_error=error[:200],
                next_attempt_at=next_attempt_at,
            )
            .execution_options(synchronize_session=False)
        )
