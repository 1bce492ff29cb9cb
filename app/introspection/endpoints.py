"""``POST /oauth2/introspect`` (RFC 7662), in the OAuth error format, not problem+json.

Requests are served by ``IntrospectionEndpoint``, a raw ASGI handler that ``ServiceApp``
calls before FastAPI's routing and middleware: on this path they cost more than the
introspection itself. The FastAPI route below documents the endpoint in OpenAPI and
answers identically (it runs the same ``Introspector``) if a request ever reaches it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Security
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from app import metrics
from app.http import INTROSPECTION_CLIENT_BASIC
from app.introspection.answers import (
    ACTIVE_FALSE,
    BODY_TOO_LARGE,
    INVALID_CLIENT,
    INVALID_REQUEST,
    THROTTLED,
    UNAVAILABLE,
    Answer,
)
from app.introspection.schemas import IntrospectionResponse, OAuthError
from app.introspection.service import MAX_FORM_BYTES, Introspector

logger = logging.getLogger(__name__)

PATH = "/oauth2/introspect"

router = APIRouter(tags=["introspection"])

# Every answer but an active one is a shared constant, so identity tells the outcome.
_OUTCOMES = {
    id(ACTIVE_FALSE): "inactive",
    id(INVALID_CLIENT): "invalid_client",
    id(INVALID_REQUEST): "invalid_request",
    id(BODY_TOO_LARGE): "invalid_request",
    id(UNAVAILABLE): "error",
    id(THROTTLED): "throttled",
}


async def answer_safely(
    introspector: Introspector,
    authorization: bytes | None,
    body: bytes,
    client: tuple[str, int] | None = None,
) -> Answer:
    """Fail closed: anything unexpected (above all, the database) is a 503, never active."""
    try:
        return await introspector.answer(authorization, body, client[0] if client else None)
    except Exception as exc:
        logger.error("introspection failed closed: %s", type(exc).__name__)
        return UNAVAILABLE


class IntrospectionEndpoint:
    """The raw ASGI fast path for ``POST /oauth2/introspect``."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive, MAX_FORM_BYTES)
        if body is None:
            answer = BODY_TOO_LARGE
        else:
            authorization = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    authorization = value
                    break
            answer = await answer_safely(
                self.app.state.introspector, authorization, body, scope.get("client")
            )
        metrics.count("outcome", "introspect", _OUTCOMES.get(id(answer), "active"))
        await send(
            {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
        )
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


_FORM_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["token"],
                    "properties": {
                        "token": {
                            "type": "string",
                            "minLength": 1,
                            "description": "The token to check",
                        },
                        "token_type_hint": {"type": "string", "description": "Ignored"},
                    },
                }
            }
        },
    }
}


@router.post(
    PATH,
    response_model=IntrospectionResponse,
    response_model_exclude_none=True,
    responses={
        400: {"model": OAuthError, "description": "No token in the request"},
        401: {"model": OAuthError, "description": "Missing or wrong client credentials"},
        413: {"model": OAuthError, "description": "The form is larger than 4 KiB"},
        429: {
            "model": OAuthError,
            "description": "Too many failed client authentications from this address",
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "required": True}},
        },
        503: {"model": OAuthError, "description": "The database cannot answer"},
    },
    openapi_extra=_FORM_SCHEMA,
    dependencies=[Security(INTROSPECTION_CLIENT_BASIC)],
)
async def introspect(request: Request) -> Response:
    """RFC 7662 token introspection for the Global API gateway (HTTP Basic client auth)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        answer = BODY_TOO_LARGE
    else:
        authorization = request.headers.get("authorization")
        answer = await answer_safely(
            request.app.state.introspector,
            authorization.encode("latin-1") if authorization is not None else None,
            body,
            (request.client.host, request.client.port) if request.client else None,
        )
    headers = {
        name.decode(): value.decode()
        for name, value in answer.headers
        if name not in (b"content-type", b"content-length")
    }
    return Response(answer.body, answer.status, headers=headers, media_type="application/json")


@router.api_route(
    PATH,
    methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"],
    include_in_schema=False,
)
async def introspect_wrong_method() -> Response:
    # A token must never travel in a URL, so GET is refused rather than served.
    return JSONResponse(
        {"error": "invalid_request"},
        status_code=405,
        headers={"Allow": "POST", "Cache-Control": "no-store", "Pragma": "no-cache"},
    )
