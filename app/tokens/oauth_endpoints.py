"""``POST /oauth2/revoke``: a token revokes itself (RFC 7009 shape), for one-off scripts.

Served by both components, in the OAuth error format. The handler owns its transaction
(unlike the management routes) so that every failure, the database's included, is an
OAuth answer: the introspection component has no problem+json handlers.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.db.session import begin_write
from app.http import AppStateDep
from app.introspection.service import bearer_token
from app.tokens.service import SelfRevocation, token_service

logger = logging.getLogger(__name__)

PATH = "/oauth2/revoke"
MAX_TOKEN_LENGTH = 512
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(tags=["oauth"])

SECURITY_SCHEME = {
    "AccessToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An integration's access token (ssg_…), revoking itself",
    }
}


def document_security(document: dict[str, Any]) -> None:
    """The scheme ``/oauth2/revoke`` names (FastAPI sees no dependency that declares it)."""
    document.setdefault("components", {}).setdefault("securitySchemes", {}).update(
        SECURITY_SCHEME
    )


def _error(status: int, error: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status, headers={**_NO_STORE, **headers})


_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def _form_token(body: bytes) -> str | None:
    """The one ``token`` field of the form; None if absent, repeated or not ASCII."""
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    tokens = fields.get("token", [])
    return tokens[0] if len(tokens) == 1 and 0 < len(tokens[0]) <= MAX_TOKEN_LENGTH else None


_FORM: dict[str, Any] = {
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
                            "maxLength": MAX_TOKEN_LENGTH,
                            "description": "The token to revoke: the bearer of this request",
                        },
                        "token_type_hint": {"type": "string", "description": "Ignored"},
                    },
                }
            }
        },
    },
    "security": [{"AccessToken": []}],
}


@router.post(
    PATH,
    status_code=200,
    response_class=Response,
    openapi_extra=_FORM,
    responses={
        200: {"description": "Revoked (or already inactive); empty body"},
        400: {"description": "No `token`, or not the bearer of the request"},
        401: {"description": "No bearer token, or not one of ours"},
        503: {"description": "The database cannot answer"},
    },
)
async def revoke_own_token(request: Request, state: AppStateDep) -> Response:
    """Revoke the calling token (RFC 7009 shape): `token=` must be the request's own bearer.

    A script that is done with its token kills it; audited and notified like any revoke,
    with the token's integration as the actor.
    """
    bearer = bearer_token(request.headers.get("authorization", "").encode("latin-1"))
    if bearer is None:
        return _error(401, "invalid_token", **_INVALID_TOKEN)
    token = _form_token(await request.body())
    if token is None or not hmac.compare_digest(token.encode(), bearer.encode()):
        return _error(400, "invalid_request")
    try:
        async with state.sessionmaker() as session:
            await begin_write(session)
            outcome = await token_service.revoke_own(session, token)
            await session.commit()
    except Exception as exc:  # above all, the database: never a 500 here
        logger.error("self-revocation failed: %s", type(exc).__name__)
        return _error(503, "temporarily_unavailable", **{"Retry-After": "1"})
    if outcome is SelfRevocation.UNKNOWN:
        return _error(401, "invalid_token", **_INVALID_TOKEN)
    return Response(status_code=200, headers=_NO_STORE)
