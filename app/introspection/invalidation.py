"""Telling every introspection cache, in every worker and replica, that something changed.

A service that revokes, regenerates, deactivates or deletes calls ``announce`` inside its
transaction. On PostgreSQL that runs ``pg_notify`` in the same transaction, so the message
is delivered exactly when (and only if) the change commits; each process's
``InvalidationListener`` applies it. The caches of the announcing process (found in
``session.info[LOCAL_CACHES]``, put there by the sessionmaker) are also invalidated
directly right after the commit, before the HTTP response is sent, so the next request to
the same process never sees the old state.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.db.session import after_commit
from app.introspection.cache import IntrospectionCache

logger = logging.getLogger(__name__)

CHANNEL = "gi_introspection_invalidate"
# The session.info key under which a sessionmaker hands its sessions this process's caches.
LOCAL_CACHES = "introspection_caches"
_MAX_PAYLOAD = 7000  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
HEARTBEAT_SECONDS = 0.25
RECONNECT_SECONDS = 0.5


def token_key(token_digest: bytes) -> str:
    return f"t:{token_digest.hex()}"


def integration_key(integration_id: uuid.UUID) -> str:
    return f"i:{integration_id}"


def client_key(client_id: uuid.UUID) -> str:
    return f"c:{client_id}"


def apply(cache: IntrospectionCache, key: str) -> None:
    kind, _, value = key.partition(":")
    try:
        if kind == "t":
            cache.invalidate_token(bytes.fromhex(value))
        elif kind == "i":
            cache.invalidate_integration(uuid.UUID(value))
        elif kind == "c":
            cache.invalidate_client(value)
        else:
            cache.clear()
    except ValueError:
        cache.clear()  # a key we cannot read: forget everything rather than guess


def _apply_locally(caches: Sequence[IntrospectionCache], keys: list[str]) -> None:
    metrics.count("invalidation", "local")
    for cache in caches:
        for key in keys:
            apply(cache, key)


def _payloads(keys: list[str]) -> Iterator[str]:
    batch: list[str] = []
    size = 0
    for key in keys:
        if batch and size + len(key) + 1 > _MAX_PAYLOAD:
            yield " ".join(batch)
            batch, size = [], 0
        batch.append(key)
        size += len(key) + 1
    if batch:
        yield " ".join(batch)


async def announce(session: AsyncSession, keys: Iterable[str]) -> None:
    """Invalidate ``keys`` in every cache once (and only if) this transaction commits."""
    keys = list(keys)
    if not keys:
        return
    if session.get_bind().dialect.name == "postgresql":
        for payload in _payloads(keys):
            await session.execute(select(func.pg_notify(CHANNEL, payload)))
    caches: Sequence[IntrospectionCache] = session.info.get(LOCAL_CACHES, ())
    after_commit(session, lambda: _apply_locally(caches, keys))


class InvalidationListener:
    """Keeps one LISTEN connection up; while it is down, the cache is not trusted."""

    def __init__(self, dsn: str, cache: IntrospectionCache) -> None:
        self._dsn = dsn
        self._cache = cache
        self._connection: asyncpg.Connection | None = None
        self.connected = asyncio.Event()

    async def run_forever(self) -> None:
        while True:
            try:
                await self._listen_until_lost()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure means: not listening
                logger.warning(
                    "invalidation listener lost (%s); bypassing the cache", type(exc).__name__
                )
            finally:
                await self._lost()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen_until_lost(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=5)
        self._connection = connection
        connection.add_termination_listener(lambda _conn: self._cache.distrust())
        await connection.add_listener(CHANNEL, self._on_notification)
        self._cache.trust_afresh()  # only now can we hear every change
        self.connected.set()
        logger.info("invalidation listener connected")
        while not connection.is_closed():
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await connection.fetchval("SELECT 1", timeout=HEARTBEAT_SECONDS * 2)

    async def _lost(self) -> None:
        self._cache.distrust()
        self.connected.clear()
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()

    def _on_notification(
        self, _connection: object, _pid: int, _channel: str, payload: object
    ) -> None:
        metrics.count("invalidation", "notify")
        for key in str(payload).split():
            apply(self._cache, key)

    @property
    def backend_pid(self) -> int | None:
        """The server process of the LISTEN connection (tests terminate it)."""
        connection = self._connection
        return None if connection is None or connection.is_closed() else connection.get_server_pid()
