"""Introspection answers, encoded once: status, ASGI headers and body, ready to send."""

from __future__ import annotations

_COMMON_HEADERS = (
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
)


class Answer:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, *extra_headers: tuple[bytes, bytes]) -> None:
        self.status = status
        self.body = body
        self.headers = [*_COMMON_HEADERS, (b"content-length", b"%d" % len(body)), *extra_headers]


ACTIVE_FALSE = Answer(200, b'{"active":false}')
INVALID_CLIENT = Answer(
    401, b'{"error":"invalid_client"}', (b"www-authenticate", b'Basic realm="introspection"')
)
INVALID_REQUEST = Answer(400, b'{"error":"invalid_request"}')
BODY_TOO_LARGE = Answer(413, b'{"error":"invalid_request"}')
UNAVAILABLE = Answer(503, b'{"error":"temporarily_unavailable"}', (b"retry-after", b"1"))
# Too many failed client authentications from this address. Retry-After is the whole
# failure window: a safe upper bound, and a constant answer costs nothing to send.
CLIENT_THROTTLE_WINDOW_SECONDS = 60
THROTTLED = Answer(
    429,
    b'{"error":"temporarily_unavailable"}',
    (b"retry-after", b"%d" % CLIENT_THROTTLE_WINDOW_SECONDS),
)
