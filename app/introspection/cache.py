"""The bounded in-process cache in front of the introspection lookups.

It is only trusted while it can hear about every change: on PostgreSQL that means while
the LISTEN connection is up (see ``invalidation.py``); on SQLite (one process) always.
Every invalidation bumps ``generation``; a lookup that started before a bump does not
store its (possibly stale) result, so a change racing with a cache fill cannot stick.
A short TTL bounds the damage of anything missed.

Three bounded maps, each evicting its oldest entry first and dropping expired ones as it
meets them (O(1) amortised, whatever an attacker sends): tokens by digest, digests known
to be unknown (so junk costs one query, not one per request), and verified callers.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import OrderedDict
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


MAX_VERIFIED_CALLERS = 10_000


class _ExpiringSet:
    """Keys remembered for ``ttl_seconds``, at most ``max_entries`` (oldest dropped first)."""

    def __init__(self, *, max_entries: int, ttl_seconds: float) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._stored_at: OrderedDict[bytes, float] = OrderedDict()  # insertion = age order
        self.values: dict[bytes, str] = {}

    def __len__(self) -> int:
        return len(self._stored_at)

    def get(self, key: bytes) -> bool:
        stored_at = self._stored_at.get(key)
        if stored_at is None:
            return False
        if time.monotonic() - stored_at > self.ttl_seconds:
            self.discard(key)
            return False
        return True

    def add(self, key: bytes, value: str = "") -> None:
        if self.max_entries <= 0:
            return
        self.discard(key)
        now = time.monotonic()
        while self._stored_at:  # the oldest first: expired ones, then the surplus
            oldest, stored_at = next(iter(self._stored_at.items()))
            if len(self._stored_at) < self.max_entries and now - stored_at <= self.ttl_seconds:
                break
            self.discard(oldest)
        self._stored_at[key] = now
        self.values[key] = value

    def discard(self, key: bytes) -> None:
        self._stored_at.pop(key, None)
        self.values.pop(key, None)

    def clear(self) -> None:
        self._stored_at.clear()
        self.values.clear()


class IntrospectionCache:
    def __init__(self, *, max_entries: int, ttl_seconds: float, trusted: bool) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.trusted = trusted
        self.generation = 0
        self._tokens: dict[bytes, CachedToken] = {}
        self._by_integration: dict[uuid.UUID, set[bytes]] = {}
        self._unknown_tokens = _ExpiringSet(
            max_entries=max_entries // 2, ttl_seconds=ttl_seconds
        )
        # SHA-256 of verified credentials -> the client id they belong to
        self._verified_callers = _ExpiringSet(
            max_entries=min(max_entries, MAX_VERIFIED_CALLERS) or MAX_VERIFIED_CALLERS,
            ttl_seconds=ttl_seconds,
        )

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

    def is_unknown_token(self, digest: bytes) -> bool:
        return self.trusted and self._unknown_tokens.get(digest)

    def remember_unknown_token(self, digest: bytes, *, generation: int) -> None:
        if self.trusted and generation == self.generation:
            self._unknown_tokens.add(digest)

    # --- introspection clients ---------------------------------------------------------

    def is_verified_caller(self, credentials_digest: bytes) -> bool:
        return self.trusted and self._verified_callers.get(credentials_digest)

    def remember_verified_caller(
        self, credentials_digest: bytes, client_id: str, *, generation: int
    ) -> None:
        if self.trusted and generation == self.generation:
            self._verified_callers.add(credentials_digest, client_id)

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
        callers = self._verified_callers
        for key in [key for key, cached_id in callers.values.items() if cached_id == client_id]:
            callers.discard(key)

    def clear(self) -> None:
        self.generation += 1
        self._tokens.clear()
        self._by_integration.clear()
        self._unknown_tokens.clear()
        self._verified_callers.clear()

    def distrust(self) -> None:
        """Stop answering from memory (the invalidation feed is gone)."""
        self.trusted = False
        self.clear()

    def trust_afresh(self) -> None:
        """The feed is back: forget everything remembered before, then trust again."""
        self.clear()
        self.trusted = True
