"""``/.well-known/oauth-authorization-server``: RFC 8414 metadata, on both components.

Clients such as openid-client (``discovery()``) and gateways with a metadata-URL setting
find the introspection and revocation endpoints here. ``issuer`` is the ``iss`` of every
introspection answer; the endpoints are absolute URLs under it. The same document is also
at ``/.well-known/openid-configuration``, the one path openid-client 6 asks by default
(it reads only what RFC 8414 defines; we issue no ID tokens).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.http import AppStateDep
from app.introspection.endpoints import INTROSPECT_PATH
from app.tokens.oauth_endpoints import PATH as REVOKE_PATH

PATH = "/.well-known/oauth-authorization-server"
OPENID_PATH = "/.well-known/openid-configuration"

router = APIRouter(tags=["oauth"])


def metadata(issuer: str) -> dict[str, Any]:
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "introspection_endpoint": base + INTROSPECT_PATH,
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "revocation_endpoint": base + REVOKE_PATH,
        # The token authenticates itself (Bearer); no client credentials are involved.
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["global"],
        # RFC 8414 requires it; tokens are issued by operators, not by an OAuth flow.
        "response_types_supported": [],
        "grant_types_supported": [],
    }


@router.get(PATH)
@router.get(OPENID_PATH, include_in_schema=False)
async def authorization_server_metadata(state: AppStateDep) -> JSONResponse:
    """RFC 8414 authorization server metadata."""
    return JSONResponse(
        metadata(state.settings.issuer), headers={"Cache-Control": "public, max-age=300"}
    )
