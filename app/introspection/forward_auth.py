"""``/oauth2/forward-auth``: "may this request pass?" for nginx ``auth_request``, Traefik
``forwardAuth`` and Envoy ``ext_authz`` (HTTP mode).

The original request's ``Authorization: Bearer <token>`` arrives as is; the gateway proves
itself with ``X-Gateway-Authorization: Basic ...`` of an introspection client. Served on the
same raw ASGI fast path as introspection, for every method (gateways forward the original one).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request, Response, Security
from starlette.types import Receive, Scope, Send

from app import metrics
from app.http import GATEWAY_CREDENTIALS
from app.introspection.service import Introspector

logger = logging.getLogger(__name__)

PATH = "/oauth2/forward-auth"

_NO_STORE = [(b"cache-control", b"no-store"), (b"content-length", b"0")]
_FORBIDDEN = (403, _NO_STORE)
_INVALID_TOKEN = (401, [*_NO_STORE, (b"www-authenticate", b'Bearer error="invalid_token"')])
_UNAVAILABLE = (503, [*_NO_STORE, (b"retry-after", b"1")])

Decision = tuple[int, list[tuple[bytes, bytes]]]
_OUTCOMES = {200: "active", 401: "inactive", 403: "invalid_client"}

router = APIRouter(tags=["introspection"])


def bearer_token(authorization: bytes | None) -> str | None:
    if not authorization or len(authorization) > 1024 or authorization[:7].lower() != b"bearer ":
        return None
    token = authorization[7:].strip()
    try:
        return token.decode("ascii") or None
    except UnicodeDecodeError:
        return None


def rfc3339(epoch_seconds: float) -> bytes:
    moment = datetime.fromtimestamp(epoch_seconds, UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z").encode()


async def decide(
    introspector: Introspector,
    gateway: bytes | None,
    authorization: bytes | None,
    client: str | None = None,
) -> Decision:
    """Fail closed: a gateway or database problem never lets a request through.

    ``client`` (the caller's address) keys the throttle of failed gateway credentials.
    """
    try:
        if not await introspector.caller_is_valid(gateway, client):
            return _FORBIDDEN
        token = bearer_token(authorization)
        entry = None if token is None else await introspector.active_token(token)
    except Exception as exc:
        logger.error("forward-auth failed closed: %s", type(exc).__name__)
        return _UNAVAILABLE
    if entry is None:
        return _INVALID_TOKEN
    headers = [
        *_NO_STORE,
        (b"x-integration-id", str(entry.integration_id).encode()),
        (b"x-token-id", str(entry.token_id).encode()),
        (b"x-merchant-scope", b"all"),
    ]
    if entry.expires_at is not None:
        headers.append((b"x-token-expires-at", rfc3339(entry.expires_at)))
    return 200, headers


class ForwardAuthEndpoint:
    """The raw ASGI fast path for every method of ``/oauth2/forward-auth``."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = authorization = None
        for name, value in scope["headers"]:
            if name == b"x-gateway-authorization":
                gateway = value
            elif name == b"authorization":
                authorization = value
        client = scope.get("client")
        status, headers = await decide(
            self.app.state.introspector, gateway, authorization, client[0] if client else None
        )
        metrics.count("outcome", "forward_auth", _OUTCOMES.get(status, "error"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


# Gateways forward the original request's method, so every method is served (and documented).
FORWARDED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


_DOCS: dict[str, Any] = {
    "dependencies": [Security(GATEWAY_CREDENTIALS)],
    "status_code": 200,
    "response_class": Response,
    "responses": {
        200: {
            "description": "The token is active; the request may pass",
            "headers": {
                "X-Integration-Id": {"schema": {"type": "string", "format": "uuid"}},
                "X-Token-Id": {"schema": {"type": "string", "format": "uuid"}},
                "X-Merchant-Scope": {"schema": {"type": "string", "enum": ["all"]}},
                "X-Token-Expires-At": {
                    "description": "When the token expires (absent if it never does)",
                    "schema": {"type": "string", "format": "date-time"},
                },
            },
        },
        401: {"description": "No bearer token, or not an active one"},
        403: {"description": "Missing or wrong gateway credentials"},
        503: {"description": "The database cannot answer"},
    },
}


async def forward_auth(
    request: Request,
    x_gateway_authorization: Annotated[
        str | None, Header(description="Basic credentials of an introspection client")
    ] = None,
    authorization: Annotated[
        str | None, Header(description="The original request's Bearer token")
    ] = None,
) -> Response:
    """Forward-auth for gateways (any method is accepted; the gateway forwards the original)."""
    status, headers = await decide(
        request.app.state.introspector,
        x_gateway_authorization.encode("latin-1") if x_gateway_authorization else None,
        authorization.encode("latin-1") if authorization else None,
        request.client.host if request.client else None,
    )
    kept = {k.decode(): v.decode() for k, v in headers if k != b"content-length"}
    return Response(status_code=status, headers=kept)


for _method in FORWARDED_METHODS:  # one operation per method, each with its own id
    router.add_api_route(
        PATH,
        forward_auth,
        methods=[_method],
        operation_id=f"forward_auth_{_method.lower()}",
        **_DOCS,
    )
