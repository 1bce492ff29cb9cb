"""The two introspection paths, as raw ASGI handlers on the hot path.

``ServiceApp`` calls them before FastAPI's routing and middleware: on these paths those
would cost more than the introspection itself. Their OpenAPI description is written by
hand in ``app.introspection.openapi``.

* ``POST /oauth2/introspect`` (RFC 7662), in the OAuth error format, not problem+json;
  any other method is 405 (a token must never travel in a URL).
* ``/oauth2/forward-auth``, any method: "may this request pass?" for nginx
  ``auth_request``, Traefik ``forwardAuth`` and Envoy ``ext_authz`` (HTTP mode). The
  original request's ``Authorization: Bearer`` arrives as is; the gateway proves itself
  with ``X-Gateway-Authorization: Basic ...`` of an introspection client.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import Receive, Scope, Send

from app import metrics
from app.introspection.answers import (
    BODY_TOO_LARGE,
    GATEWAY_FORBIDDEN,
    INVALID_REQUEST,
    INVALID_TOKEN,
    WRONG_METHOD,
    Answer,
)
from app.introspection.service import MAX_FORM_BYTES, Introspector

INTROSPECT_PATH = "/oauth2/introspect"
FORWARD_AUTH_PATH = "/oauth2/forward-auth"


class _Endpoint:
    def __init__(self, introspector: Callable[[], Introspector]) -> None:
        # A getter: the introspector is built in the app's lifespan, after the routes.
        self.introspector = introspector


class IntrospectionEndpoint(_Endpoint):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            answer = WRONG_METHOD
        elif (authorization := _single_header(scope, b"authorization")) is _REPEATED:
            answer = INVALID_REQUEST
        else:
            body = await _read_body(receive, MAX_FORM_BYTES)
            if body is None:
                answer = BODY_TOO_LARGE
            else:
                answer = await self.introspector().answer(authorization, body, _peer(scope))
        await _send(send, answer, "introspect")


class ForwardAuthEndpoint(_Endpoint):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = _single_header(scope, b"x-gateway-authorization")
        authorization = _single_header(scope, b"authorization")
        if gateway is _REPEATED:
            answer = GATEWAY_FORBIDDEN
        elif authorization is _REPEATED:
            answer = INVALID_TOKEN
        else:
            answer = await self.introspector().forward_auth(gateway, authorization, _peer(scope))
        await _send(send, answer, "forward_auth")


# A header sent more than once: proxies and frameworks disagree on which copy counts (the
# first, the last), so a gateway and its upstream could act on different credentials.
_REPEATED = b"\x00repeated"


def _single_header(scope: Scope, name: bytes) -> bytes | None:
    """The header's value; None if absent; ``_REPEATED`` if sent more than once."""
    found: bytes | None = None
    for header_name, value in scope["headers"]:
        if header_name == name:
            if found is not None:
                return _REPEATED
            found = value
    return found


def _peer(scope: Scope) -> str | None:
    peer = scope.get("client")
    return peer[0] if peer else None


async def _send(send: Send, answer: Answer, path: str) -> None:
    metrics.count("outcome", path, answer.outcome)
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it is longer than ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client went away; whatever we answer is not read
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
