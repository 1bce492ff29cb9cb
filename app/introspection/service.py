"""The hot path: is this token valid, and what may it reach?

Every Global API request passes through here. In order of cost: the caller's Basic
credentials (cached per client), the token's shape and checksum (pure, no I/O), then the
token's digest in the cache, and only on a miss one indexed lookup by digest. Answers are
pre-encoded JSON, so a cache hit allocates almost nothing.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import unquote_plus

from app import metrics, token_format
from app.introspection.answers import (
    ACTIVE_FALSE,
    CLIENT_THROTTLE_WINDOW_SECONDS,
    INVALID_CLIENT,
    INVALID_REQUEST,
    THROTTLED,
    Answer,
)
from app.introspection.cache import CachedToken, IntrospectionCache
from app.introspection.last_used import LastUsedRecorder
from app.introspection.store import IntrospectionStore, TokenRecord
from app.throttle import FailureThrottle

MAX_FORM_BYTES = 4096
# Failed client authentications per client address within the window before it is
# locked (the default of Settings.client_auth_failures_per_address).
CLIENT_MAX_FAILURES = 20


class CallerThrottled(Exception):
    """Too many failed client authentications from this address: refused unverified."""


def parse_basic_credentials(header: bytes | None) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from an HTTP Basic header (RFC 6749 §2.3.1 encoding)."""
    if not header or len(header) > 1024 or header[:6].lower() != b"basic ":
        return None
    try:
        decoded = binascii.a2b_base64(header[6:].strip(), strict_mode=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        return None
    if "%" in decoded or "+" in decoded:
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    return client_id, secret


def parse_token_form(body: bytes) -> str | None:
    """The single non-empty ``token`` field of a form body; None if absent or repeated."""
    token: str | None = None
    for field in body.split(b"&"):
        name, _, value = field.partition(b"=")
        if b"%" in name or b"+" in name:
            name = unquote_plus(name.decode("latin-1")).encode("latin-1", "replace")
        if name != b"token":
            continue
        if token is not None:
            return None
        try:
            token = unquote_plus(value.decode("ascii"), errors="strict")
        except UnicodeDecodeError:
            return None
    return token or None


def active_claims(record: TokenRecord, *, issuer: str) -> dict[str, object]:
    integration_id = str(record.integration_id)
    claims: dict[str, object] = {
        "active": True,
        "token_type": "Bearer",
        "scope": "global",
        "merchant_scope": "all",
        "client_id": integration_id,
        "sub": integration_id,
        "jti": str(record.token_id),
        "iat": int(record.created_at.timestamp()),
    }
    if record.expires_at is not None:
        claims["exp"] = int(record.expires_at.timestamp())
    claims.update(
        iss=issuer, integration_id=integration_id, integration_name=record.integration_name
    )
    return claims


class Introspector:
    def __init__(
        self,
        *,
        store: IntrospectionStore,
        cache: IntrospectionCache,
        issuer: str,
        last_used: LastUsedRecorder,
        client_max_failures: int = CLIENT_MAX_FAILURES,
    ) -> None:
        self.store = store
        self.cache = cache
        self.issuer = issuer
        self.last_used = last_used
        # Failed client authentications per client address; in memory, see the README.
        self.throttle = FailureThrottle(
            max_failures=client_max_failures, window_seconds=CLIENT_THROTTLE_WINDOW_SECONDS
        )

    async def answer(
        self, authorization: bytes | None, body: bytes, client: str | None = None
    ) -> Answer:
        """The whole RFC 7662 exchange. Store errors propagate: the caller answers 503.

        ``client`` is the caller's address, the key of the failed-authentication throttle.
        """
        try:
            if authorization is None or not await self._caller_is_valid(authorization, client):
                return INVALID_CLIENT
        except CallerThrottled:
            return THROTTLED
        token = parse_token_form(body)
        if token is None:
            return INVALID_REQUEST
        entry = await self.active_token(token)
        return ACTIVE_FALSE if entry is None else entry.answer or ACTIVE_FALSE

    async def caller_is_valid(self, authorization: bytes | None, client: str | None = None) -> bool:
        """Whether ``authorization`` holds the Basic credentials of a live introspection client.

        A throttled address gets False: forward-auth can only say 403 (gateways treat any
        other status of an auth subrequest as an error).
        """
        try:
            return authorization is not None and await self._caller_is_valid(authorization, client)
        except CallerThrottled:
            return False

    async def _caller_is_valid(self, authorization: bytes, client: str | None) -> bool:
        # A header verified before is recognised by its digest alone: no base64, no
        # parsing, no secret kept in memory. It is not throttled: only whoever knows the
        # exact credentials can produce it.
        header_digest = hashlib.sha256(authorization).digest()
        if self.cache.is_verified_caller(header_digest):
            return True
        if self.throttle.retry_after(client):
            raise CallerThrottled()
        if await self._verify_caller(authorization, header_digest):
            return True
        self.throttle.record_failure(client)
        return False

    async def _verify_caller(self, authorization: bytes, header_digest: bytes) -> bool:
        credentials = parse_basic_credentials(authorization)
        if credentials is None:
            return False
        client_id, secret = credentials
        if not token_format.is_well_formed(secret, token_format.CLIENT_SECRET_PREFIX):
            return False
        try:
            parsed_id = uuid.UUID(client_id)
        except ValueError:
            return False
        generation = self.cache.generation
        expected = await self.store.find_client_secret_digest(parsed_id)
        if expected is None or not hmac.compare_digest(expected, token_format.digest(secret)):
            return False
        self.cache.remember_verified_caller(header_digest, str(parsed_id), generation=generation)
        return True

    async def active_token(self, token: str) -> CachedToken | None:
        """The token's entry if it is active now (and its use is recorded), else None."""
        if len(token) != token_format.TOKEN_LENGTH:
            return None
        digest = token_format.digest(token)
        entry = self.cache.get_token(digest)  # a cached token was well-formed when stored
        metrics.count("cache", "hit" if entry is not None else "miss")
        if entry is None:
            if not token_format.is_well_formed(token):
                return None
            generation = self.cache.generation
            record = await self.store.find_token(digest)
            if record is None:
                return None
            entry = self._cache_entry(record)
            self.cache.put_token(digest, entry, generation=generation)
        now = time.time()
        if entry.answer is None or (entry.expires_at is not None and now >= entry.expires_at):
            return None
        self.last_used.record(entry.token_id, now)
        return entry

    def _cache_entry(self, record: TokenRecord) -> CachedToken:
        answer = None
        if not record.revoked and record.integration_usable:
            claims = active_claims(record, issuer=self.issuer)
            answer = Answer(
                200, json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
            )
        return CachedToken(
            answer=answer,
            expires_at=record.expires_at.timestamp() if record.expires_at is not None else None,
            token_id=record.token_id,
            integration_id=record.integration_id,
        )
