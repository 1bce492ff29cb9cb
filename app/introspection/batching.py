"""Coalescing concurrent lookups into one query.

Under load many requests miss the cache in the same event-loop iteration. Each would
cost a PostgreSQL round trip, and on a small machine those round trips (not the index
lookups) are where the CPU goes. ``LookupBatcher`` collects the keys asked for during
one loop iteration and resolves them all with one ``fetch_many`` call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_BATCH = 200


class LookupBatcher(Generic[K, V]):
    def __init__(self, fetch_many: Callable[[list[K]], Awaitable[dict[K, V]]]) -> None:
        self._fetch_many = fetch_many
        # One future per caller, so a cancelled request cancels only its own wait.
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._flush_scheduled = False
        self._running: set[asyncio.Task[None]] = set()

    async def get(self, key: K) -> V | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V | None] = loop.create_future()
        self._waiting.setdefault(key, []).append(future)
        if len(self._waiting) >= MAX_BATCH:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._waiting:
            return
        batch, self._waiting = self._waiting, {}
        task = asyncio.get_running_loop().create_task(self._resolve(batch))
        self._running.add(task)  # keep a reference until it is done
        task.add_done_callback(self._running.discard)

    async def _resolve(self, batch: dict[K, list[asyncio.Future[V | None]]]) -> None:
        try:
            found = await self._fetch_many(list(batch))
        except BaseException as exc:
            for futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for key, futures in batch.items():
            value = found.get(key)
            for future in futures:
                if not future.done():
                    future.set_result(value)
