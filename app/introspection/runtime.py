"""The introspection machinery of one process, started and stopped as one piece.

The store (raw asyncpg on PostgreSQL, the engine on SQLite), the cache in front of it,
the batched ``last_used_at`` writer, the ``Introspector`` that answers, and on PostgreSQL
the listener that keeps the cache honest.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.introspection.cache import IntrospectionCache
from app.introspection.invalidation import InvalidationListener
from app.introspection.last_used import LastUsedRecorder
from app.introspection.service import Introspector
from app.introspection.sqlite_watch import SqliteChangeWatcher
from app.introspection.store import IntrospectionStore, PostgresStore, SqlAlchemyStore, asyncpg_dsn


class IntrospectionRuntime:
    def __init__(self, settings: Settings, store: IntrospectionStore) -> None:
        self.store = store
        self.last_used = LastUsedRecorder(
            store.write_last_used, interval=settings.last_used_flush_seconds
        )
        # Trusted only once the process can hear every change: the PostgreSQL listener
        # or the SQLite watcher sets it (an in-memory SQLite database has no other process).
        database_path = make_url(settings.database_url).database if settings.is_sqlite else None
        shared_file = database_path not in (None, "", ":memory:")
        self.cache = IntrospectionCache(
            max_entries=settings.introspection_cache_size,
            ttl_seconds=settings.introspection_cache_ttl_seconds,
            trusted=settings.is_sqlite and not shared_file,
        )
        self.introspector = Introspector(
            store=store,
            cache=self.cache,
            issuer=settings.issuer,
            last_used=self.last_used,
            client_max_failures=settings.client_auth_failures_per_address,
        )
        self.listener: InvalidationListener | SqliteChangeWatcher | None = None
        if not settings.is_sqlite:
            # Its own setting: behind PgBouncer, LISTEN needs a direct connection.
            self.listener = InvalidationListener(asyncpg_dsn(settings.listen_url), self.cache)
        elif shared_file:
            assert database_path is not None
            self.listener = SqliteChangeWatcher(database_path, self.cache)
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def start(cls, settings: Settings, engine: AsyncEngine) -> IntrospectionRuntime:
        store: IntrospectionStore
        if settings.is_sqlite:
            store = SqlAlchemyStore(
                engine, max_concurrent=settings.connection_budget.introspection
            )
        else:
            store = PostgresStore.connect(
                settings.database_url,
                pool_size=settings.connection_budget.introspection,
                pgbouncer=settings.database_pgbouncer,
            )
        runtime = cls(settings, store)
        runtime._tasks.append(
            asyncio.create_task(runtime.last_used.run_forever(), name="last-used-flusher")
        )
        if runtime.listener is not None:
            runtime._tasks.append(
                asyncio.create_task(runtime.listener.run_forever(), name="invalidation-listener")
            )
        return runtime

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.last_used.flush()
        await self.store.close()
