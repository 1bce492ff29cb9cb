"""The hot path: is this token valid, and what may it reach?

Every Global API request passes through here. In order of cost: the caller's Basic
credentials (cached per client), the token's shape and checksum (pure, no I/O), then the
token's digest in the cache, and only on a miss one indexed lookup by digest. Answers are
pre-encoded JSON, so a cache hit allocates almost nothing.
"""

from __future__ import annotations

import binascii
import enum
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from app import metrics, token_format
from app.introspection.answers import (
    ACTIVE_FALSE,
    CLIENT_THROTTLE_WINDOW_SECONDS,
    GATEWAY_FORBIDDEN,
    GATEWAY_UNAVAILABLE,
    INVALID_CLIENT,
    INVALID_REQUEST,
    INVALID_TOKEN,
    THROTTLED,
    UNAVAILABLE,
    Answer,
    empty_answer,
)
from app.introspection.cache import (
    CachedToken,
    IntegrationAnswer,
    IntrospectionCache,
    VerifiedCaller,
)
from app.introspection.last_used import LastUsedRecorder
from app.introspection.store import IntrospectionStore, TokenRecord
from app.throttle import FailureThrottle

logger = logging.getLogger(__name__)

MAX_FORM_BYTES = 4096
MAX_BEARER_BYTES = 512  # ours are 42 bytes; the README says the same
MAX_BASIC_BYTES = 1024


class CallerOutcome(enum.Enum):
    """What the check of an introspection client's credentials found."""

    VALID = "valid"
    INVALID = "invalid"
    THROTTLED = "throttled"  # too many failures from this address: refused unchecked


def parse_basic_credentials(header: bytes | None) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from an HTTP Basic header (RFC 6749 §2.3.1 encoding)."""
    if not header or len(header) > MAX_BASIC_BYTES or header[:6].lower() != b"basic ":
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


@dataclass(slots=True)
class IntrospectionForm:
    """The fields of an introspection request body that the service reads."""

    token: str | None = None
    client_id: str | None = None  # client_secret_post
    client_secret: str | None = None


def _form_value(value: bytes) -> str | None:
    """A form value as text; None if it is not ASCII once decoded."""
    try:
        if b"%" not in value and b"+" not in value:
            return value.decode("ascii")  # the usual case: a token needs no escaping
        return unquote_plus(value.decode("ascii"), errors="strict")
    except UnicodeDecodeError:
        return None


def parse_introspection_form(body: bytes) -> IntrospectionForm | None:
    """The form's fields; None if one is repeated or not ASCII (an ambiguous request)."""
    if body.startswith(b"token=") and b"&" not in body:  # what most gateways send
        token = _form_value(body[6:])
        return None if token is None else IntrospectionForm(token)
    token = client_id = client_secret = None
    for field in body.split(b"&"):
        name, _, raw = field.partition(b"=")
        if b"%" in name or b"+" in name:
            name = unquote_plus(name.decode("latin-1")).encode("latin-1", "replace")
        if name == b"token":
            if token is not None or (token := _form_value(raw)) is None:
                return None
        elif name == b"client_id":
            if client_id is not None or (client_id := _form_value(raw)) is None:
                return None
        elif name == b"client_secret":
            if client_secret is not None or (client_secret := _form_value(raw)) is None:
                return None
    return IntrospectionForm(token, client_id, client_secret)


def bearer_token(authorization: bytes | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if it holds one."""
    if (
        not authorization
        or len(authorization) > MAX_BEARER_BYTES
        or authorization[:7].lower() != b"bearer "
    ):
        return None
    try:
        return authorization[7:].strip().decode("ascii") or None
    except UnicodeDecodeError:
        return None


def rfc3339(epoch_seconds: float) -> bytes:
    moment = datetime.fromtimestamp(epoch_seconds, UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z").encode()


def _json_string(text: str) -> bytes:
    return json.dumps(text, ensure_ascii=False).encode()


def integration_answer(record: TokenRecord, *, issuer: str) -> IntegrationAnswer:
    """The claims every active token of ``record``'s integration shares, as JSON pieces.

    An active answer is ``prefix + own_claims(record) + suffix``: the RFC 7662 fields and
    ours, in this order: active, token_type, scope, merchant_scope, client_id, sub, jti,
    iat, exp (absent for a token that never expires), iss, integration_id,
    integration_name.
    """
    integration_id = _json_string(str(record.integration_id))
    prefix = (
        b'{"active":true,"token_type":"Bearer","scope":"global","merchant_scope":"all",'
        b'"client_id":' + integration_id + b',"sub":' + integration_id + b","
    )
    suffix = (
        b'"iss":' + _json_string(issuer) + b',"integration_id":' + integration_id
        + b',"integration_name":' + _json_string(record.integration_name) + b"}"
    )  # fmt: skip
    return IntegrationAnswer(
        record.integration_id, usable=record.integration_usable, prefix=prefix, suffix=suffix
    )


def own_claims(record: TokenRecord) -> bytes:
    """The claims of the token itself, each followed by a comma."""
    token_id = str(record.token_id).encode()
    claims = b'"jti":"%s","iat":%d,' % (token_id, record.created_at.timestamp())
    if record.expires_at is not None:
        claims += b'"exp":%d,' % record.expires_at.timestamp()
    return claims


class Introspector:
    def __init__(
        self,
        *,
        store: IntrospectionStore,
        cache: IntrospectionCache,
        issuer: str,
        last_used: LastUsedRecorder,
        client_max_failures: int,
    ) -> None:
        self.store = store
        self.cache = cache
        self.issuer = issuer
        self.last_used = last_used
        # Failed client authentications per peer address; in memory, see the README.
        self.throttle = FailureThrottle(
            max_failures=client_max_failures, window_seconds=CLIENT_THROTTLE_WINDOW_SECONDS
        )

    async def answer(
        self, authorization: bytes | None, body: bytes, peer_address: str | None
    ) -> Answer:
        """The whole RFC 7662 exchange. Fails closed: any failure is a 503, never active.

        The caller authenticates with HTTP Basic (``client_secret_basic``) or with
        ``client_id`` and ``client_secret`` in the form (``client_secret_post``): exactly one.
        """
        form = parse_introspection_form(body)
        if form is None:
            return INVALID_REQUEST
        posted = form.client_id is not None or form.client_secret is not None
        if posted and authorization is not None:
            return INVALID_REQUEST  # RFC 6749 §2.3: one authentication method per request
        try:
            if posted:
                caller = await self._check_posted_caller(form, peer_address)
            else:
                caller = await self.check_basic_caller(authorization, peer_address)
            if caller is CallerOutcome.THROTTLED:
                return THROTTLED
            if caller is CallerOutcome.INVALID:
                return INVALID_CLIENT
            if not form.token:
                return INVALID_REQUEST
            entry = await self.active_token(form.token)
        except Exception as exc:  # above all, the database
            logger.error("introspection failed closed: %s", type(exc).__name__)
            return UNAVAILABLE
        return ACTIVE_FALSE if entry is None else entry.answer() or ACTIVE_FALSE

    async def forward_auth(
        self, gateway: bytes | None, authorization: bytes | None, peer_address: str | None
    ) -> Answer:
        """May this request pass? Fails closed: a gateway or database problem never lets it."""
        try:
            if await self.check_basic_caller(gateway, peer_address) is not CallerOutcome.VALID:
                return GATEWAY_FORBIDDEN
            token = bearer_token(authorization)
            entry = None if token is None else await self.active_token(token)
        except Exception as exc:
            logger.error("forward-auth failed closed: %s", type(exc).__name__)
            return GATEWAY_UNAVAILABLE
        if entry is None:
            return INVALID_TOKEN
        headers = [
            (b"x-integration-id", str(entry.integration_id).encode()),
            (b"x-token-id", str(entry.token_id).encode()),
            (b"x-merchant-scope", b"all"),
        ]
        if entry.expires_at is not None:
            headers.append((b"x-token-expires-at", rfc3339(entry.expires_at)))
        return empty_answer(200, *headers, outcome="active")

    async def check_basic_caller(
        self, authorization: bytes | None, peer_address: str | None
    ) -> CallerOutcome:
        """Whether ``authorization`` holds the Basic credentials of a live introspection client."""
        if authorization is None:
            return CallerOutcome.INVALID
        # A header verified before is recognised by its digest alone: no base64, no
        # parsing, no secret kept in memory.
        cache_key = hashlib.sha256(authorization).digest()
        if self.cache.is_verified_caller(cache_key):
            return CallerOutcome.VALID
        return await self._check_caller(
            cache_key, lambda: parse_basic_credentials(authorization), peer_address
        )

    async def _check_posted_caller(
        self, form: IntrospectionForm, peer_address: str | None
    ) -> CallerOutcome:
        client_id, secret = form.client_id, form.client_secret
        if client_id is None or secret is None:
            return CallerOutcome.INVALID
        cache_key = hashlib.sha256(f"post\x00{client_id}\x00{secret}".encode()).digest()
        return await self._check_caller(cache_key, lambda: (client_id, secret), peer_address)

    async def _check_caller(
        self,
        cache_key: bytes,
        credentials: Callable[[], tuple[str, str] | None],
        peer_address: str | None,
    ) -> CallerOutcome:
        """Verified callers are remembered by ``cache_key`` (a digest of what they sent) and
        not throttled: only whoever knows the exact credentials can produce it. Failures
        are throttled per ``peer_address``; store errors propagate."""
        if self.cache.is_verified_caller(cache_key):
            return CallerOutcome.VALID
        if self.throttle.retry_after(peer_address):
            return CallerOutcome.THROTTLED
        if await self._verify_credentials(cache_key, credentials()):
            return CallerOutcome.VALID
        self.throttle.record_failure(peer_address)
        return CallerOutcome.INVALID

    async def _verify_credentials(
        self, cache_key: bytes, credentials: tuple[str, str] | None
    ) -> bool:
        if credentials is None:
            return False
        client_id, secret = credentials
        if not token_format.is_well_formed(secret, token_format.CLIENT_SECRET_PREFIX):
            return False
        try:
            parsed_id = uuid.UUID(client_id)
        except ValueError:
            return False
        generation = self.cache.callers_generation
        expected = await self.store.find_client_secret_digest(parsed_id)
        if expected is None or not hmac.compare_digest(expected, token_format.digest(secret)):
            return False
        caller = VerifiedCaller(str(parsed_id), expected)
        self.cache.remember_verified_caller(cache_key, caller, generation=generation)
        return True

    async def active_token(self, token: str) -> CachedToken | None:
        """The token's entry if it is active now (and its use is recorded), else None."""
        if len(token) != token_format.TOKEN_LENGTH:
            return None
        digest = token_format.digest(token)
        entry = self.cache.get_token(digest)  # a cached token was well-formed when stored
        metrics.count("cache", "hit" if entry is not None else "miss")
        if entry is None:
            # Junk is cheap to make (CRC32 is public): a digest known to be unknown costs
            # no query. An unknown digest stays unknown: a new token's is random.
            if self.cache.is_unknown_token(digest) or not token_format.is_well_formed(token):
                return None
            generation = self.cache.generation
            record = await self.store.find_token(digest)
            if record is None:
                self.cache.remember_unknown_token(digest, generation=generation)
                return None
            entry = self._cache_entry(record)
            self.cache.put_token(digest, entry, generation=generation)
        now = time.time()
        if not entry.active or (entry.expires_at is not None and now >= entry.expires_at):
            return None
        self.last_used.record(entry.token_id, now)
        return entry

    def _cache_entry(self, record: TokenRecord) -> CachedToken:
        return CachedToken(
            integration=self.cache.integration_answer(
                integration_answer(record, issuer=self.issuer)
            ),
            own_claims=None if record.revoked else own_claims(record),
            expires_at=record.expires_at.timestamp() if record.expires_at is not None else None,
            token_id=record.token_id,
        )
