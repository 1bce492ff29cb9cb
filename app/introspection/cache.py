"""The bounded in-process cache in front of the introspection lookups.

It is only trusted while it can hear about every change: on PostgreSQL that means while
the LISTEN connection is up (see ``invalidation.py``); on SQLite (one process) always.
Every invalidation bumps ``generation``; a lookup that started before a bump does not
store its (possibly stale) result, so a change racing with a cache fill cannot stick.
A short TTL bounds the damage of anything missed.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass

from app.introspection.answers import Answer


@dataclass(slots=True)
class CachedToken:
    """What introspection answers for one token digest."""

    answer: Answer | None  # the active answer; None: inactive for good
    expires_at: float | None  # epoch seconds after which the token is inactive
    token_id: uuid.UUID
    integration_id: uuid.UUID
    stored_at: float = 0.0  # monotonic; set by the cache


class IntrospectionCache:
    def __init__(self, *, max_entries: int, ttl_seconds: float, trusted: bool) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.trusted = trusted
        self.generation = 0
        self._tokens: dict[bytes, CachedToken] = {}
        self._by_integration: dict[uuid.UUID, set[bytes]] = {}
        # SHA-256 of a verified Authorization header -> (client id, stored at)
        self._verified_callers: dict[bytes, tuple[str, float]] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    # --- tokens ----------------------------------------------------------------------

    def get_token(self, digest: bytes) -> CachedToken | None:
        if not self.trusted:
            return None
        entry = self._tokens.get(digest)
        if entry is None or time.monotonic() - entry.stored_at > self.ttl_seconds:
            return None
        return entry

    def put_token(self, digest: bytes, entry: CachedToken, *, generation: int) -> None:
        if not self.trusted or generation != self.generation or self.max_entries <= 0:
            return
        self._drop_token(digest)
        while len(self._tokens) >= self.max_entries:
            self._drop_token(next(iter(self._tokens)))  # oldest first
        # Up to a fifth younger than now, so entries filled together do not all expire
        # (and hit the database) together.
        entry.stored_at = time.monotonic() - random.random() * self.ttl_seconds * 0.2
        self._tokens[digest] = entry
        self._by_integration.setdefault(entry.integration_id, set()).add(digest)

    def _drop_token(self, digest: bytes) -> None:
        entry = self._tokens.pop(digest, None)
        if entry is None:
            return
        siblings = self._by_integration.get(entry.integration_id)
        if siblings is not None:
            siblings.discard(digest)
            if not siblings:
                del self._by_integration[entry.integration_id]

    # --- introspection clients ---------------------------------------------------------

    def is_verified_caller(self, header_digest: bytes) -> bool:
        if not self.trusted:
            return False
        cached = self._verified_callers.get(header_digest)
        return cached is not None and time.monotonic() - cached[1] <= self.ttl_seconds

    def remember_verified_caller(
        self, header_digest: bytes, client_id: str, *, generation: int
    ) -> None:
        if self.trusted and generation == self.generation and len(self._verified_callers) < 10_000:
            self._verified_callers[header_digest] = (client_id, time.monotonic())

    # --- invalidation ----------------------------------------------------------------

    def invalidate_token(self, digest: bytes) -> None:
        self.generation += 1
        self._drop_token(digest)

    def invalidate_integration(self, integration_id: uuid.UUID) -> None:
        self.generation += 1
        for digest in list(self._by_integration.get(integration_id, ())):
            self._drop_token(digest)

    def invalidate_client(self, client_id: str) -> None:
        self.generation += 1
        for header_digest, (cached_id, _) in list(self._verified_callers.items()):
            if cached_id == client_id:
                del self._verified_callers[header_digest]

    def clear(self) -> None:
        self.generation += 1
        self._tokens.clear()
        self._by_integration.clear()
        self._verified_callers.clear()

    def distrust(self) -> None:
        """Stop answering from memory (the invalidation feed is gone)."""
        self.trusted = False
        self.clear()

    def trust_afresh(self) -> None:
        """The feed is back: forget everything remembered before, then trust again."""
        self.clear()
        self.trusted = True
