"""Is the database at the schema this code expects (the migrations' head)?

``serve`` refuses to start on a database that is not, and ``/readyz`` answers 503 for one,
instead of starting "ready" and failing every request with a missing table or column.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


@lru_cache
def expected_heads() -> frozenset[str] | None:
    """The migrations' head revisions; None where the migrations are not shipped."""
    if not ALEMBIC_INI.exists():
        return None
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_heads())


def _current(connection: Connection) -> frozenset[str]:
    from alembic.migration import MigrationContext

    return frozenset(MigrationContext.configure(connection).get_current_heads())


async def current_heads(connection: AsyncConnection) -> frozenset[str]:
    return await connection.run_sync(_current)


async def is_current(connection: AsyncConnection) -> bool:
    """True when the database is at the head (or the head is unknown here)."""
    expected = expected_heads()
    return expected is None or await current_heads(connection) == expected
