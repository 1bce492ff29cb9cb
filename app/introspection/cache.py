"""The bounded in-process cache in front of the introspection lookups.

It is only trusted while it can hear about every change: on PostgreSQL that means while
the LISTEN connection is up (see ``invalidation.py``); on SQLite while the file is watched
(``sqlite_watch.py``).
Every invalidation bumps ``generation``; a lookup that started before a bump does not
store its (possibly stale) result, so a change racing with a cache fill cannot stick.
A short TTL bounds the damage of anything missed.

Three bounded maps, each evicting its oldest entry first and dropping expired ones as it
meets them (O(1) amortised, whatever an attacker sends): tokens by digest, digests known
to be unknown (so junk costs one query, not one per request), and verified callers.

Memory: a full cache is 100,000 entries per worker by default, so an entry stays small
(about 450 bytes with its key, measured by ``tests/unit/test_introspection_cache.py``).
What all tokens of one integration share in their answer (client_id, sub, iss,
integration_id, integration_name) is stored once, in an ``IntegrationAnswer``; an entry
keeps only its own claims (jti, iat, exp), and the answer is joined on a hit. Invalidating
an integration marks its ``IntegrationAnswer`` stale, which turns every entry of it into a
miss at once, without a per-integration index of digests.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from app.introspection.answers import Answer, active_answer


class IntegrationAnswer:
    """The part of an active answer that every token of one integration shares."""

    __slots__ = ("current", "integration_id", "prefix", "suffix", "usable")

    def __init__(
        self, integration_id: uuid.UUID, *, usable: bool, prefix: bytes, suffix: bytes
    ) -> None:
        self.integration_id = integration_id
        self.usable = usable  # active and not deleted
        self.prefix = prefix  # the claims before the token's own
        self.suffix = suffix  # and after them, closing the JSON object
        self.current = True  # False once invalidated: its entries are misses

    def same_as(self, other: IntegrationAnswer) -> bool:
        return (self.usable, self.prefix, self.suffix) == (other.usable, other.prefix, other.suffix)


class CachedToken:
    """What introspection answers for one token digest."""

    __slots__ = ("expires_at", "integration", "own_claims", "stored_at", "token_id")

    def __init__(
        self,
        *,
        integration: IntegrationAnswer,
        own_claims: bytes | None,
        expires_at: float | None,
        token_id: uuid.UUID,
    ) -> None:
        self.integration = integration
        self.own_claims = own_claims  # None: revoked, inactive for good
        self.expires_at = expires_at  # epoch seconds after which the token is inactive
        self.token_id = token_id
        self.stored_at = 0.0  # monotonic; set by the cache

    @property
    def integration_id(self) -> uuid.UUID:
        return self.integration.integration_id

    @property
    def active(self) -> bool:
        """Not revoked, and its integration active and not deleted (expiry aside)."""
        return self.own_claims is not None and self.integration.usable

    def answer(self) -> Answer | None:
        """The active answer (joined now: it is not kept whole), or None if inactive."""
        if self.own_claims is None or not self.integration.usable:
            return None
        return active_answer(self.integration.prefix + self.own_claims + self.integration.suffix)


MAX_VERIFIED_CALLERS = 10_000

V = TypeVar("V")


class VerifiedCaller(NamedTuple):
    client_id: str
    secret_digest: bytes  # the client's, as it was when the caller's secret matched it


class _ExpiringMap(Generic[V]):
    """Keys remembered for ``ttl_seconds``, at most ``max_entries`` (oldest dropped first)."""

    def __init__(self, *, max_entries: int, ttl_seconds: float) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._stored_at: OrderedDict[bytes, float] = OrderedDict()  # insertion = age order
        self.values: dict[bytes, V] = {}

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

    def add(self, key: bytes, value: V) -> None:
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
        # Counts what can make a verified caller stale. A verification in flight is not
        # remembered if, since it started, the callers were cleared or *its* client was
        # invalidated; emptying the token answers (as the SQLite watcher does on every
        # commit) or revoking another client does not count against it.
        self.callers_generation = 0
        self._callers_cleared_at = 0
        # client id -> the generation of its last invalidation since the last clear; a
        # handful of entries (callers cannot create clients)
        self._client_invalidated_at: dict[str, int] = {}
        self._tokens: dict[bytes, CachedToken] = {}
        self._integrations: dict[uuid.UUID, IntegrationAnswer] = {}
        self._unknown_tokens: _ExpiringMap[None] = _ExpiringMap(
            max_entries=max_entries // 2, ttl_seconds=ttl_seconds
        )
        # SHA-256 of verified credentials -> whose they are
        self._verified_callers: _ExpiringMap[VerifiedCaller] = _ExpiringMap(
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
        if entry is None:
            return None
        if not entry.integration.current or time.monotonic() - entry.stored_at > self.ttl_seconds:
            del self._tokens[digest]
            return None
        return entry

    def integration_answer(self, fresh: IntegrationAnswer) -> IntegrationAnswer:
        """The shared parts for a new entry: the ones held already, if they are the same.

        Different parts (a rename read before its invalidation arrived) replace the held
        ones, whose entries become misses: an entry is only ever served with the parts the
        cache would invalidate.
        """
        held = self._integrations.get(fresh.integration_id)
        if held is not None and held.same_as(fresh):
            return held
        if held is not None:
            held.current = False
        if self.trusted:
            self._integrations[fresh.integration_id] = fresh
        return fresh

    def put_token(self, digest: bytes, entry: CachedToken, *, generation: int) -> None:
        if not self.trusted or generation != self.generation or self.max_entries <= 0:
            return
        if self._integrations.get(entry.integration_id) is not entry.integration:
            return  # parts the cache does not hold could not be invalidated
        self._drop_token(digest)
        while len(self._tokens) >= self.max_entries:
            self._drop_token(next(iter(self._tokens)))  # oldest first
        # Up to a fifth younger than now, so entries filled together do not all expire
        # (and hit the database) together.
        entry.stored_at = time.monotonic() - random.random() * self.ttl_seconds * 0.2
        self._tokens[digest] = entry

    def _drop_token(self, digest: bytes) -> None:
        self._tokens.pop(digest, None)

    def is_unknown_token(self, digest: bytes) -> bool:
        return self.trusted and self._unknown_tokens.get(digest)

    def remember_unknown_token(self, digest: bytes, *, generation: int) -> None:
        if self.trusted and generation == self.generation:
            self._unknown_tokens.add(digest, None)

    # --- introspection clients ---------------------------------------------------------

    def is_verified_caller(self, credentials_digest: bytes) -> bool:
        return self.trusted and self._verified_callers.get(credentials_digest)

    def remember_verified_caller(
        self, credentials_digest: bytes, caller: VerifiedCaller, *, generation: int
    ) -> None:
        if self.trusted and not self._changed_since(generation, caller.client_id):
            self._verified_callers.add(credentials_digest, caller)

    def _changed_since(self, generation: int, client_id: str) -> bool:
        invalidated_at = self._client_invalidated_at.get(client_id, 0)
        return max(self._callers_cleared_at, invalidated_at) > generation

    # --- invalidation ----------------------------------------------------------------

    def invalidate_token(self, digest: bytes) -> None:
        self.generation += 1
        self._drop_token(digest)

    def invalidate_integration(self, integration_id: uuid.UUID) -> None:
        self.generation += 1
        held = self._integrations.pop(integration_id, None)
        if held is not None:
            held.current = False  # every entry of it is a miss from now on

    def invalidate_client(self, client_id: str) -> None:
        """The client is revoked or gone: forget its callers, and any verification in flight."""
        self.callers_generation += 1
        self._client_invalidated_at[client_id] = self.callers_generation
        self._forget_callers(lambda caller: caller.client_id == client_id)

    def keep_callers_of_live_secret(self, client_id: str, secret_digest: bytes) -> None:
        """The client is live with ``secret_digest``: forget only callers verified against
        another one. A verification in flight reads the same row, so it may still count."""
        self._forget_callers(
            lambda caller: caller.client_id == client_id and caller.secret_digest != secret_digest
        )

    def _forget_callers(self, matching: Callable[[VerifiedCaller], bool]) -> None:
        callers = self._verified_callers
        for key in [key for key, caller in callers.values.items() if matching(caller)]:
            callers.discard(key)

    def clear_tokens(self) -> None:
        """Forget every token answer, keeping the verified callers."""
        self.generation += 1
        self._tokens.clear()
        for held in self._integrations.values():
            held.current = False
        self._integrations.clear()
        self._unknown_tokens.clear()

    def clear(self) -> None:
        self.clear_tokens()
        self.callers_generation += 1
        self._callers_cleared_at = self.callers_generation
        self._client_invalidated_at.clear()  # the clear covers every earlier invalidation
        self._verified_callers.clear()

    def distrust(self) -> None:
        """Stop answering from memory (the invalidation feed is gone)."""
        self.trusted = False
        self.clear()

    def trust_afresh(self) -> None:
        """The feed is back: forget everything remembered before, then trust again."""
        self.clear()
        self.trusted = True
