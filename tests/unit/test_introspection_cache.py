from __future__ import annotations

import uuid

import pytest

from app.introspection.answers import json_answer
from app.introspection.cache import CachedToken, IntrospectionCache
from app.introspection.invalidation import _payloads, apply, integration_key, token_key


def entry(integration_id: uuid.UUID | None = None) -> CachedToken:
    return CachedToken(
        answer=json_answer(200, b"{}", outcome="active"),
        expires_at=None,
        token_id=uuid.uuid4(),
        integration_id=integration_id or uuid.uuid4(),
    )


def cache(**overrides: object) -> IntrospectionCache:
    options: dict[str, object] = {"max_entries": 100, "ttl_seconds": 60.0, "trusted": True}
    options.update(overrides)
    return IntrospectionCache(**options)  # type: ignore[arg-type]


def test_cache_never_holds_more_than_its_bound() -> None:
    bounded = cache(max_entries=3)
    digests = [bytes([i]) * 32 for i in range(10)]
    for digest in digests:
        bounded.put_token(digest, entry(), generation=bounded.generation)
    assert len(bounded) == 3
    assert [bounded.get_token(d) is not None for d in digests[-3:]] == [True] * 3
    assert bounded.get_token(digests[0]) is None


def test_size_zero_disables_the_cache() -> None:
    disabled = cache(max_entries=0)
    disabled.put_token(b"x" * 32, entry(), generation=disabled.generation)
    assert disabled.get_token(b"x" * 32) is None


def test_fill_that_raced_with_an_invalidation_is_not_stored() -> None:
    racing = cache()
    started_at = racing.generation
    racing.invalidate_token(b"other".ljust(32, b"\0"))
    racing.put_token(b"x" * 32, entry(), generation=started_at)
    assert racing.get_token(b"x" * 32) is None


def test_untrusted_cache_neither_answers_nor_stores() -> None:
    untrusted = cache(trusted=False)
    untrusted.put_token(b"x" * 32, entry(), generation=untrusted.generation)
    assert untrusted.get_token(b"x" * 32) is None
    trusted = cache()
    trusted.put_token(b"x" * 32, entry(), generation=trusted.generation)
    trusted.distrust()
    assert trusted.get_token(b"x" * 32) is None
    trusted.trust_afresh()
    assert trusted.get_token(b"x" * 32) is None  # nothing survives a gap in the feed


def test_stale_entries_are_not_served() -> None:
    short = cache(ttl_seconds=0.0)
    short.put_token(b"x" * 32, entry(), generation=short.generation)
    assert short.get_token(b"x" * 32) is None


def test_integration_key_drops_all_of_its_tokens_and_only_those() -> None:
    shared = cache()
    integration_id = uuid.uuid4()
    mine = [bytes([i]) * 32 for i in range(3)]
    for digest in mine:
        shared.put_token(digest, entry(integration_id), generation=shared.generation)
    shared.put_token(b"o" * 32, entry(), generation=shared.generation)
    apply(shared, integration_key(integration_id))
    assert all(shared.get_token(d) is None for d in mine)
    assert shared.get_token(b"o" * 32) is not None


def test_token_key_drops_one_token() -> None:
    shared = cache()
    shared.put_token(b"a" * 32, entry(), generation=shared.generation)
    shared.put_token(b"b" * 32, entry(), generation=shared.generation)
    apply(shared, token_key(b"a" * 32))
    assert shared.get_token(b"a" * 32) is None
    assert shared.get_token(b"b" * 32) is not None


def test_unreadable_key_clears_everything() -> None:
    shared = cache()
    shared.put_token(b"a" * 32, entry(), generation=shared.generation)
    apply(shared, "t:not-hex")
    assert len(shared) == 0


def test_many_keys_are_split_into_payloads_postgres_accepts() -> None:
    keys = [token_key(bytes([i % 256]) * 32) for i in range(1000)]
    payloads = list(_payloads(keys))
    assert all(len(p.encode()) < 8000 for p in payloads)
    assert [k for p in payloads for k in p.split()] == keys


def test_unknown_digests_are_remembered_within_their_bound() -> None:
    bounded = cache(max_entries=4)  # half of it for unknown digests
    digests = [bytes([i]) * 32 for i in range(5)]
    for digest in digests:
        bounded.remember_unknown_token(digest, generation=bounded.generation)
    assert [bounded.is_unknown_token(d) for d in digests] == [False, False, False, True, True]


def test_an_unknown_digest_read_before_an_invalidation_is_not_remembered() -> None:
    remembering = cache()
    generation = remembering.generation
    remembering.invalidate_token(b"\x01" * 32)
    remembering.remember_unknown_token(b"\x02" * 32, generation=generation)
    assert not remembering.is_unknown_token(b"\x02" * 32)


def test_verified_callers_expire_and_make_room_instead_of_refusing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("app.introspection.cache.time.monotonic", lambda: now[0])
    callers = cache(max_entries=2, ttl_seconds=60.0)
    callers.remember_verified_caller(b"a", "client-a", generation=callers.generation)
    callers.remember_verified_caller(b"b", "client-b", generation=callers.generation)
    callers.remember_verified_caller(b"c", "client-c", generation=callers.generation)
    assert [callers.is_verified_caller(k) for k in (b"a", b"b", b"c")] == [False, True, True]
    now[0] += 61
    assert not callers.is_verified_caller(b"b")  # expired entries are dropped when met
    callers.invalidate_client("client-c")
    assert not callers.is_verified_caller(b"c")
