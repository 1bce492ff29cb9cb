"""``POST /oauth2/introspect`` (RFC 7662), in the OAuth error format, not problem+json.

The body is parsed by hand from the raw bytes: it is one or two form fields, and
FastAPI's ``Form`` machinery costs more than the lookup itself on this path.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.db.base import utc_now
from app.introspection.clients import authenticate_client
from app.introspection.schemas import IntrospectionResponse, OAuthError
from app.introspection.service import Introspector

logger = logging.getLogger(__name__)

router = APIRouter(tags=["introspection"])

MAX_FORM_BYTES = 4096
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Basic realm="introspection"', **_NO_STORE}


def oauth_error(error: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status, headers=headers or _NO_STORE)


def parse_basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from an HTTP Basic header (RFC 6749 §2.3.1 encoding)."""
    if not header or len(header) > 1024:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        return None
    return unquote(client_id), unquote(secret)


def parse_token_form(body: bytes) -> str | None:
    """The single ``token`` field of the form body, or None when absent or repeated."""
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        return None
    tokens = fields.get("token")
    if tokens is None or len(tokens) != 1 or not tokens[0]:
        return None
    return tokens[0]


_FORM_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["token"],
                    "properties": {
                        "token": {"type": "string", "description": "The token to check"},
                        "token_type_hint": {"type": "string", "description": "Ignored"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/oauth2/introspect",
    response_model=IntrospectionResponse,
    response_model_exclude_none=True,
    responses={
        400: {"model": OAuthError, "description": "No token in the request"},
        401: {"model": OAuthError, "description": "Missing or wrong client credentials"},
        503: {"model": OAuthError, "description": "The database cannot answer"},
    },
    openapi_extra=_FORM_SCHEMA,
)
async def introspect(request: Request) -> Response:
    """RFC 7662 token introspection for the Global API gateway (HTTP Basic client auth)."""
    introspector: Introspector = request.app.state.introspector
    credentials = parse_basic_credentials(request.headers.get("authorization"))
    body = await request.body()
    try:
        async with request.app.state.engine.connect() as connection:
            if credentials is None or not await authenticate_client(connection, *credentials):
                return oauth_error("invalid_client", 401, _UNAUTHORIZED_HEADERS)
            token = parse_token_form(body) if len(body) <= MAX_FORM_BYTES else None
            if token is None:
                return oauth_error("invalid_request", 400)
            claims = await introspector.introspect(connection, token, now=utc_now())
    except (DBAPIError, PoolTimeoutError, OSError) as exc:
        logger.error("introspection could not reach the database: %s", type(exc).__name__)
        return oauth_error("temporarily_unavailable", 503)
    return JSONResponse(claims, headers=_NO_STORE)


@router.api_route(
    "/oauth2/introspect", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def introspect_wrong_method() -> Response:
    # A token must never travel in a URL, so GET is refused rather than served.
    return JSONResponse(
        {"error": "invalid_request"}, status_code=405, headers={"Allow": "POST", **_NO_STORE}
    )
