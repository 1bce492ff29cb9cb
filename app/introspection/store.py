"""The two lookups introspection needs, behind one small interface.

On PostgreSQL they run as raw asyncpg prepared statements on a pool of their own: the
profile of the hot path showed SQLAlchemy's per-call machinery (connection checkout with
pre-ping, BEGIN/ROLLBACK, result wrapping) costing more than the query itself. On SQLite
(one process, the embedded default) they go through the SQLAlchemy engine.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg
from sqlalchemy import bindparam, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.integrations.models import Integration
from app.introspection.models import IntrospectionClient
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

    async def close(self) -> None: ...


_TOKEN_SQL = """
SELECT t.id, t.created_at, t.expires_at, t.revoked_at IS NOT NULL,
       i.id, i.name, i.active AND i.deleted_at IS NULL
FROM access_tokens AS t JOIN integrations AS i ON i.id = t.integration_id
WHERE t.token_digest = $1
"""
_CLIENT_SQL = "SELECT secret_digest FROM introspection_clients WHERE id = $1 AND revoked_at IS NULL"


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, database_url: str, *, pool_size: int) -> PostgresStore:
        pool = await asyncpg.create_pool(
            asyncpg_dsn(database_url),
            min_size=1,
            max_size=pool_size,
            command_timeout=5,
            timeout=5,
        )
        return cls(pool)

    async def find_token(self, token_digest: bytes) -> TokenRecord | None:
        row = await self._pool.fetchrow(_TOKEN_SQL, token_digest)
        return None if row is None else TokenRecord(*row)

    async def find_client_secret_digest(self, client_id: uuid.UUID) -> bytes | None:
        digest: bytes | None = await self._pool.fetchval(_CLIENT_SQL, client_id)
        return digest

    async def close(self) -> None:
        await self._pool.close()


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
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _first(self, statement: Any, params: dict[str, Any]) -> Any:
        async with self._engine.connect() as connection:
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

    async def close(self) -> None:
        """The engine belongs to the app; nothing of our own to close."""
