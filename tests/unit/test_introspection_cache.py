from __future__ import annotations

import hashlib
import json
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.introspection.cache import (
    CachedToken,
    IntegrationAnswer,
    IntrospectionCache,
    VerifiedCaller,
)
from app.introspection.invalidation import _payloads, apply, integration_key, token_key
from app.introspection.last_used import LastUsedRecorder
from app.introspection.service import Introspector
from app.introspection.sqlite_watch import forget_changes
from app.introspection.store import TokenRecord

CALLER = VerifiedCaller("client", b"s" * 32)


def caller_of(client_id: str) -> VerifiedCaller:
    return VerifiedCaller(client_id, b"s" * 32)


def entry(into: IntrospectionCache, integration_id: uuid.UUID | None = None) -> CachedToken:
    """An active entry, with its integration's parts held by ``into``."""
    parts = IntegrationAnswer(
        integration_id or uuid.uuid4(), usable=True, prefix=b"{", suffix=b'"x":1}'
    )
    return CachedToken(
        integration=into.integration_answer(parts),
        own_claims=b"",
        expires_at=None,
        token_id=uuid.uuid4(),
    )


def cache(**overrides: object) -> IntrospectionCache:
    options: dict[str, object] = {"max_entries": 100, "ttl_seconds": 60.0, "trusted": True}
    options.update(overrides)
    return IntrospectionCache(**options)  # type: ignore[arg-type]


def test_cache_never_holds_more_than_its_bound() -> None:
    bounded = cache(max_entries=3)
    digests = [bytes([i]) * 32 for i in range(10)]
    for digest in digests:
        bounded.put_token(digest, entry(bounded), generation=bounded.generation)
    assert len(bounded) == 3
    assert [bounded.get_token(d) is not None for d in digests[-3:]] == [True] * 3
    assert bounded.get_token(digests[0]) is None


def test_size_zero_disables_the_cache() -> None:
    disabled = cache(max_entries=0)
    disabled.put_token(b"x" * 32, entry(disabled), generation=disabled.generation)
    assert disabled.get_token(b"x" * 32) is None


def test_fill_that_raced_with_an_invalidation_is_not_stored() -> None:
    racing = cache()
    started_at = racing.generation
    racing.invalidate_token(b"other".ljust(32, b"\0"))
    racing.put_token(b"x" * 32, entry(racing), generation=started_at)
    assert racing.get_token(b"x" * 32) is None


def test_a_caller_verified_while_token_answers_were_emptied_is_remembered() -> None:
    """The SQLite watcher empties the token answers on any commit; that says nothing about
    gateway credentials, so a verification in flight still counts."""
    verifying = cache()
    started_at = verifying.callers_generation
    verifying.clear_tokens()
    verifying.remember_verified_caller(b"k" * 32, CALLER, generation=started_at)
    assert verifying.is_verified_caller(b"k" * 32)


@pytest.mark.parametrize(
    ("revoked", "remembered"), [(CALLER.client_id, False), ("another client", True)]
)
def test_a_caller_verified_while_a_client_was_revoked_counts_unless_it_was_its_own(
    revoked: str, remembered: bool
) -> None:
    """A verification in flight while its own client is revoked may have read the row
    before: it is dropped. The revocation of another client (the SQLite watcher also sees
    rows deleted between tests) says nothing about it."""
    racing = cache()
    started_at = racing.callers_generation
    racing.invalidate_client(revoked)
    racing.remember_verified_caller(b"k" * 32, CALLER, generation=started_at)
    assert racing.is_verified_caller(b"k" * 32) is remembered


def test_a_caller_verified_while_the_callers_were_cleared_is_not_remembered() -> None:
    racing = cache()
    started_at = racing.callers_generation
    racing.invalidate_client("another client")
    racing.clear()
    racing.remember_verified_caller(b"k" * 32, CALLER, generation=started_at)
    assert not racing.is_verified_caller(b"k" * 32)
    restarted_at = racing.callers_generation
    racing.remember_verified_caller(b"k" * 32, CALLER, generation=restarted_at)
    assert racing.is_verified_caller(b"k" * 32)


def test_clearing_the_tokens_keeps_the_verified_callers() -> None:
    kept = cache()
    kept.remember_verified_caller(b"k" * 32, CALLER, generation=kept.callers_generation)
    kept.clear_tokens()
    assert kept.is_verified_caller(b"k" * 32)
    kept.clear()
    assert not kept.is_verified_caller(b"k" * 32)


def test_untrusted_cache_neither_answers_nor_stores() -> None:
    untrusted = cache(trusted=False)
    untrusted.put_token(b"x" * 32, entry(untrusted), generation=untrusted.generation)
    assert untrusted.get_token(b"x" * 32) is None
    trusted = cache()
    trusted.put_token(b"x" * 32, entry(trusted), generation=trusted.generation)
    trusted.distrust()
    assert trusted.get_token(b"x" * 32) is None
    trusted.trust_afresh()
    assert trusted.get_token(b"x" * 32) is None  # nothing survives a gap in the feed


def test_stale_entries_are_not_served() -> None:
    short = cache(ttl_seconds=0.0)
    short.put_token(b"x" * 32, entry(short), generation=short.generation)
    assert short.get_token(b"x" * 32) is None


def test_integration_key_drops_all_of_its_tokens_and_only_those() -> None:
    shared = cache()
    integration_id = uuid.uuid4()
    mine = [bytes([i]) * 32 for i in range(3)]
    for digest in mine:
        shared.put_token(digest, entry(shared, integration_id), generation=shared.generation)
    shared.put_token(b"o" * 32, entry(shared), generation=shared.generation)
    apply(shared, integration_key(integration_id))
    assert all(shared.get_token(d) is None for d in mine)
    assert shared.get_token(b"o" * 32) is not None


def test_token_key_drops_one_token() -> None:
    shared = cache()
    shared.put_token(b"a" * 32, entry(shared), generation=shared.generation)
    shared.put_token(b"b" * 32, entry(shared), generation=shared.generation)
    apply(shared, token_key(b"a" * 32))
    assert shared.get_token(b"a" * 32) is None
    assert shared.get_token(b"b" * 32) is not None


def test_unreadable_key_clears_everything() -> None:
    shared = cache()
    shared.put_token(b"a" * 32, entry(shared), generation=shared.generation)
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
    callers.remember_verified_caller(b"a", caller_of("client-a"), generation=callers.generation)
    callers.remember_verified_caller(b"b", caller_of("client-b"), generation=callers.generation)
    callers.remember_verified_caller(b"c", caller_of("client-c"), generation=callers.generation)
    assert [callers.is_verified_caller(k) for k in (b"a", b"b", b"c")] == [False, True, True]
    now[0] += 61
    assert not callers.is_verified_caller(b"b")  # expired entries are dropped when met
    callers.invalidate_client("client-c")
    assert not callers.is_verified_caller(b"c")


def test_a_full_cache_costs_at_most_600_bytes_per_token() -> None:
    """Measured as a lookup fills it: the digest key, the token's id and its entry."""
    count = 20_000
    full = cache(max_entries=count)
    introspector = Introspector(
        store=None,  # type: ignore[arg-type]  # never asked: entries are made directly
        cache=full,
        issuer="https://integrations.example.com",
        last_used=LastUsedRecorder(None, interval=60),  # type: ignore[arg-type]
        client_max_failures=20,
    )
    integrations = [(uuid.uuid4(), f"Integration number {i}") for i in range(200)]
    now = datetime.now(UTC)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(count):
            integration_id, name = integrations[i % len(integrations)]
            record = TokenRecord(
                uuid.uuid4(), now, now + timedelta(days=30), False, integration_id, name, True
            )
            digest = hashlib.sha256(str(i).encode()).digest()
            full.put_token(digest, introspector._cache_entry(record), generation=full.generation)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert len(full) == count
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    print(f"{grown / count:.0f} bytes per cached token")  # noqa: T201  (-s shows it)
    assert grown / count <= 600, f"{grown / count:.0f} bytes per cached token"


def test_an_answer_joined_from_shared_parts_is_the_whole_answer() -> None:
    joined = cache()
    introspector = Introspector(
        store=None,  # type: ignore[arg-type]
        cache=joined,
        issuer="https://integrations.example.com",
        last_used=LastUsedRecorder(None, interval=60),  # type: ignore[arg-type]
        client_max_failures=20,
    )
    created, expires = datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 12, 28, tzinfo=UTC)
    record = TokenRecord(uuid.uuid4(), created, expires, False, uuid.uuid4(), "Bot “Ω”", True)
    answer = introspector._cache_entry(record).answer()
    assert answer is not None
    assert json.loads(answer.body) == {
        "active": True,
        "token_type": "Bearer",
        "scope": "global",
        "merchant_scope": "all",
        "client_id": str(record.integration_id),
        "sub": str(record.integration_id),
        "jti": str(record.token_id),
        "iat": int(created.timestamp()),
        "exp": int(expires.timestamp()),
        "iss": "https://integrations.example.com",
        "integration_id": str(record.integration_id),
        "integration_name": "Bot “Ω”",
    }


def test_a_commit_elsewhere_forgets_the_callers_their_client_row_no_longer_vouches_for() -> None:
    """What the SQLite watcher does when another connection has committed."""
    watched = cache()
    rows = {
        "kept": (b"k" * 32, None),
        "revoked": (b"r" * 32, None),
        "created": (b"n" * 32, None),  # verified before the watcher's first sight of it
        "created-then-revoked": (b"v" * 32, None),
    }
    for key, client in [(b"a", "kept"), (b"b", "revoked"), (b"c", "created-then-revoked")]:
        caller = VerifiedCaller(client, rows[client][0])
        watched.remember_verified_caller(key * 32, caller, generation=watched.callers_generation)
    created = VerifiedCaller("created", rows["created"][0])
    watched.remember_verified_caller(b"d" * 32, created, generation=watched.callers_generation)
    before = {"kept": rows["kept"], "revoked": rows["revoked"]}
    now = {
        "kept": rows["kept"],
        "revoked": (b"r" * 32, "2026-11-28 08:00:00"),
        "created": rows["created"],
        "created-then-revoked": (b"v" * 32, "2026-11-28 08:00:00"),
    }
    forget_changes(watched, before, now)
    assert watched.is_verified_caller(b"a" * 32)
    assert not watched.is_verified_caller(b"b" * 32)
    assert not watched.is_verified_caller(b"c" * 32)
    assert watched.is_verified_caller(b"d" * 32)


def test_a_live_client_keeps_only_the_callers_verified_against_its_present_secret() -> None:
    watched = cache()
    old, new = VerifiedCaller("client", b"o" * 32), VerifiedCaller("client", b"n" * 32)
    watched.remember_verified_caller(b"o" * 32, old, generation=watched.callers_generation)
    watched.remember_verified_caller(b"n" * 32, new, generation=watched.callers_generation)
    forget_changes(watched, {"client": (b"o" * 32, None)}, {"client": (b"n" * 32, None)})
    assert not watched.is_verified_caller(b"o" * 32)
    assert watched.is_verified_caller(b"n" * 32)
