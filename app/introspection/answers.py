"""Introspection and forward-auth answers, encoded once: status, ASGI headers, body, outcome.

Every answer but an active one is a shared constant. ``outcome`` names it for the metrics,
so the endpoints never need to tell answers apart by identity or status.
"""

from __future__ import annotations

_NO_STORE = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"))
_JSON = (b"content-type", b"application/json")


class Answer:
    __slots__ = ("body", "headers", "outcome", "status")

    def __init__(
        self, status: int, body: bytes, headers: list[tuple[bytes, bytes]], *, outcome: str
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.outcome = outcome


def json_answer(
    status: int, body: bytes, *extra_headers: tuple[bytes, bytes], outcome: str
) -> Answer:
    """An RFC 7662 / OAuth error answer: JSON, never cached by anyone."""
    headers = [_JSON, *_NO_STORE, (b"content-length", b"%d" % len(body)), *extra_headers]
    return Answer(status, body, headers, outcome=outcome)


def active_answer(body: bytes) -> Answer:
    """``json_answer(200, body, outcome="active")``, built the short way: once per hit."""
    content_length = (b"content-length", b"%d" % len(body))
    return Answer(200, body, [_JSON, *_NO_STORE, content_length], outcome="active")


def empty_answer(status: int, *extra_headers: tuple[bytes, bytes], outcome: str) -> Answer:
    """A forward-auth answer: the status and headers say it all."""
    headers = [*_NO_STORE, (b"content-length", b"0"), *extra_headers]
    return Answer(status, b"", headers, outcome=outcome)


# --- POST /oauth2/introspect ---------------------------------------------------------------

ACTIVE_FALSE = json_answer(200, b'{"active":false}', outcome="inactive")
INVALID_CLIENT = json_answer(
    401,
    b'{"error":"invalid_client"}',
    (b"www-authenticate", b'Basic realm="introspection"'),
    outcome="invalid_client",
)
INVALID_REQUEST = json_answer(400, b'{"error":"invalid_request"}', outcome="invalid_request")
BODY_TOO_LARGE = json_answer(413, b'{"error":"invalid_request"}', outcome="invalid_request")
WRONG_METHOD = json_answer(
    405, b'{"error":"invalid_request"}', (b"allow", b"POST"), outcome="invalid_request"
)
UNAVAILABLE = json_answer(
    503, b'{"error":"temporarily_unavailable"}', (b"retry-after", b"1"), outcome="error"
)
# Too many failed client authentications from this address. Retry-After is the whole
# failure window: a safe upper bound, and a constant answer costs nothing to send.
CLIENT_THROTTLE_WINDOW_SECONDS = 60
THROTTLED = json_answer(
    429,
    b'{"error":"temporarily_unavailable"}',
    (b"retry-after", b"%d" % CLIENT_THROTTLE_WINDOW_SECONDS),
    outcome="throttled",
)

# --- /oauth2/forward-auth ------------------------------------------------------------------

# Gateways treat any status of an auth subrequest but 2xx/401/403 as an error, so a
# throttled gateway is refused with 403 like a wrong one.
GATEWAY_FORBIDDEN = empty_answer(403, outcome="invalid_client")
INVALID_TOKEN = empty_answer(
    401, (b"www-authenticate", b'Bearer error="invalid_token"'), outcome="inactive"
)
GATEWAY_UNAVAILABLE = empty_answer(503, (b"retry-after", b"1"), outcome="error")
