"""The two lookups introspection needs, behind one small interface.

On PostgreSQL they run as raw asyncpg prepared statements on a pool of their own: the
profile of the hot path showed SQLAlchemy's per-call machinery (connection checkout with
pre-ping, BEGIN/ROLLBACK, result wrapping) costing more than the query itself. On SQLite
(one process, the embedded default) they go through the SQLAlchemy engine.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import asyncpg
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.integrations.models import Integration
from app.introspection.batching import LookupBatcher
from app.introspection_clients.models import IntrospectionClient
from app.tokens.models import AccessToken


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What introspection needs to know about a token, as stored."""

    token_id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    integration_id: uuid.UUID
    integration_name: str
    integration_usable: bool  # active and not deleted


class IntrospectionStore(Protocol):
    async def find_token(self, token_digest: bytes) -> TokenRecord | None: ...

    async def find_client_secret_digest(self, client_id: uuid.UUID) -> bytes | None:
        """The secret digest of an existing, unrevoked client."""
        ...

    async def write_last_used(self, uses: dict[uuid.UUID, datetime]) -> None:
        """Set ``last_used_at`` of many tokens in one statement, never moving it back."""
        ...

    def connections_in_use(self) -> int: ...

    async def close(self) -> None: ...


_TOKENS_SQL = """
SELECT t.token_digest, t.id, t.created_at, t.expires_at, t.revoked_at IS NOT NULL,
       i.id, i.name, i.active AND i.deleted_at IS NULL
FROM access_tokens AS t JOIN integrations AS i ON i.id = t.integration_id
WHERE t.token_digest = ANY($1::bytea[])
"""
_CLIENT_SQL = "SELECT secret_digest FROM introspection_clients WHERE id = $1 AND revoked_at IS NULL"
_LAST_USED_SQL = """
UPDATE access_tokens AS t SET last_used_at = u.used_at
FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, used_at)
WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.used_at)
"""


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


T = TypeVar("T")


class _Slot:
    __slots__ = ("connection", "lock")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.connection: asyncpg.Connection | None = None


class ConnectionSlots:
    """A fixed number of PostgreSQL connections, each guarded by its own lock.

    asyncpg's Pool spawns a task per release (``asyncio.shield``), arms a timeout per call
    and by default resets the session with a round trip: together about a third of the
    Python time of a cache miss in the profile. These connections only run single,
    read-mostly statements that leave no session state behind, so a lock per connection
    is all the pooling they need; an uncontended ``asyncio.Lock`` costs nothing. A
    connection that fails or is interrupted mid-statement is dropped and replaced on its
    next use.
    """

    def __init__(self, dsn: str, size: int, *, pgbouncer: bool = False) -> None:
        self._dsn = dsn
        self._slots = [_Slot() for _ in range(size)]
        self._next = 0
        # Behind PgBouncer (transaction pooling) a statement may only rely on what its own
        # transaction made: no cached (named) statements, and each statement in an explicit
        # transaction so that its unnamed prepare and execute reach the same server.
        self._pgbouncer = pgbouncer
        self._statement_cache_size = 0 if pgbouncer else 100  # 100: asyncpg's default

    def _pick(self) -> _Slot:
        for slot in self._slots:
            if not slot.lock.locked():
                return slot
        self._next = (self._next + 1) % len(self._slots)  # all busy: queue round-robin
        return self._slots[self._next]

    async def run(self, statement: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        slot = self._pick()
        async with slot.lock:
            connection = slot.connection
            if connection is None or connection.is_closed():
                connection = await asyncpg.connect(
                    self._dsn,
                    timeout=5,
                    command_timeout=5,
                    statement_cache_size=self._statement_cache_size,
                )
                slot.connection = connection
            try:
                if self._pgbouncer:
                    async with connection.transaction():
                        return await statement(connection)
                return await statement(connection)
            except asyncpg.PostgresError:
                raise  # the server refused the statement; the connection is fine
            except BaseException:
                slot.connection = None
                connection.terminate()
                raise

    @property
    def in_use(self) -> int:
        return sum(slot.lock.locked() for slot in self._slots)

    async def close(self) -> None:
        for slot in self._slots:
            connection, slot.connection = slot.connection, None
            if connection is not None and not connection.is_closed():
                connection.terminate()


class PostgresStore:
    def __init__(self, connections: ConnectionSlots) -> None:
        self._connections = connections
        self._token_lookups = LookupBatcher(self._find_tokens)

    @classmethod
    def connect(
        cls, database_url: str, *, pool_size: int, pgbouncer: bool = False
    ) -> PostgresStore:
        """Connections are opened on first use, so this never waits for the database."""
        return cls(ConnectionSlots(asyncpg_dsn(database_url), pool_size, pgbouncer=pgbouncer))

    async def find_token(self, token_digest: bytes) -> TokenRecord | None:
        return await self._token_lookups.get(token_digest)

    async def _find_tokens(self, digests: list[bytes]) -> dict[bytes, TokenRecord]:
        rows = await self._connections.run(lambda c: c.fetch(_TOKENS_SQL, digests))
        return {bytes(row[0]): TokenRecord(*row[1:]) for row in rows}

    async def find_client_secret_digest(self, client_id: uuid.UUID) -> bytes | None:
        digest: bytes | None = await self._connections.run(
            lambda c: c.fetchval(_CLIENT_SQL, client_id)
        )
        return digest

    async def write_last_used(self, uses: dict[uuid.UUID, datetime]) -> None:
        ids, times = list(uses), list(uses.values())
        await self._connections.run(lambda c: c.execute(_LAST_USED_SQL, ids, times))

    def connections_in_use(self) -> int:
        return self._connections.in_use

    async def close(self) -> None:
        await self._connections.close()


_TOKEN_QUERY = (
    select(
        AccessToken.id,
        AccessToken.created_at,
        AccessToken.expires_at,
        AccessToken.revoked_at.is_not(None),
        Integration.id,
        Integration.name,
        Integration.active & Integration.deleted_at.is_(None),
    )
    .join(Integration, Integration.id == AccessToken.integration_id)
    .where(AccessToken.token_digest == bindparam("digest"))
)
_CLIENT_QUERY = select(IntrospectionClient.secret_digest).where(
    IntrospectionClient.id == bindparam("client_id"), IntrospectionClient.revoked_at.is_(None)
)


class SqlAlchemyStore:
    """SQLite: each lookup opens a connection (and a thread) of its own, so at most
    ``max_concurrent`` run at once; the rest wait their turn instead of piling up."""

    def __init__(self, engine: AsyncEngine, *, max_concurrent: int) -> None:
        self._engine = engine
        self._lookups = asyncio.Semaphore(max_concurrent)

    async def _first(self, statement: Any, params: dict[str, Any]) -> Any:
        async with self._lookups, self._engine.connect() as connection:
            return (await connection.execute(statement, params)).first()

    async def find_token(self, token_digest: bytes) -> TokenRecord | None:
        row = await self._first(_TOKEN_QUERY, {"digest": token_digest})
        if row is None:
            return None
        token_id, created_at, expires_at, revoked, integration_id, name, usable = row
        return TokenRecord(
            token_id, created_at, expires_at, bool(revoked), integration_id, name, bool(usable)
        )

    async def find_client_secret_digest(self, client_id: uuid.UUID) -> bytes | None:
        row = await self._first(_CLIENT_QUERY, {"client_id": client_id})
        return None if row is None else bytes(row[0])

    async def write_last_used(self, uses: dict[uuid.UUID, datetime]) -> None:
        statement = (
            update(AccessToken)
            .where(
                AccessToken.id == bindparam("token_id"),
                or_(
                    AccessToken.last_used_at.is_(None),
                    AccessToken.last_used_at < bindparam("used_at"),
                ),
            )
            .values(last_used_at=bindparam("used_at"))
            .execution_options(synchronize_session=False)
        )
        params = [{"token_id": k, "used_at": v} for k, v in uses.items()]
        async with self._engine.begin() as connection:
            await connection.execute(statement, params)

    def connections_in_use(self) -> int:
        return 0  # it borrows the engine's connections, counted with the engine's pool

    async def close(self) -> None:
        """The engine belongs to the app; nothing of our own to close."""
