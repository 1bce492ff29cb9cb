"""Batched ``last_used_at``: introspection must not write to the database per request.

Uses are collected in memory and handed to ``write`` (one statement per flush, see
``IntrospectionStore.write_last_used``); a token is written at most once per ``interval``
seconds. The app's lifespan runs ``run_forever`` and calls
``flush`` once more on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

logger = logging.getLogger(__name__)


class LastUsedRecorder:
    def __init__(
        self, write: Callable[[dict[uuid.UUID, datetime]], Awaitable[None]], *, interval: float
    ) -> None:
        self._write = write
        self._interval = interval
        self._pending: dict[uuid.UUID, float] = {}  # token id -> epoch seconds of last use
        # token id -> monotonic time of its last write; pruned every flush, so it holds
        # only tokens used within the last interval.
        self._written_at: dict[uuid.UUID, float] = {}
        self._flush_lock = asyncio.Lock()

    def record(self, token_id: uuid.UUID, used_at: float) -> None:
        """Note a use at ``used_at`` (``time.time()``); cheap enough for the hot path."""
        written_at = self._written_at.get(token_id)
        if written_at is not None and time.monotonic() - written_at < self._interval:
            return
        self._pending[token_id] = used_at

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        async with self._flush_lock:
            batch, self._pending = self._pending, {}
            now = time.monotonic()
            self._written_at = {
                k: v for k, v in self._written_at.items() if now - v < self._interval
            }
            if not batch:
                return 0
            try:
                await self._write({k: datetime.fromtimestamp(v, UTC) for k, v in batch.items()})
            except Exception as exc:
                # Keep the uses for the next attempt, unless newer ones arrived meanwhile.
                for token_id, used_at in batch.items():
                    self._pending.setdefault(token_id, used_at)
                logger.warning("last_used_at flush failed (%s); will retry", type(exc).__name__)
                return 0
            for token_id in batch:
                self._written_at[token_id] = now
            return len(batch)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(min(self._interval, 5.0))
            await self.flush()
