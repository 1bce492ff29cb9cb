"""The OpenAPI description of the two raw ASGI paths, which FastAPI's routing never sees."""

from __future__ import annotations

from typing import Any

from app.introspection.endpoints import FORWARD_AUTH_PATH, INTROSPECT_PATH
from app.introspection.schemas import IntrospectionResponse, OAuthError

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "IntrospectionClient": {
        "type": "http",
        "description": "client_id:client_secret of an introspection client",
        "scheme": "basic",
    },
    "GatewayCredentials": {
        "type": "apiKey",
        "description": "Basic base64(client_id:client_secret) of an introspection client",
        "in": "header",
        "name": "X-Gateway-Authorization",
    },
}


def _oauth_error(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        **extra,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}},
    }


_INTROSPECT = {
    "post": {
        "tags": ["introspection"],
        "summary": "Introspect",
        "description": (
            "RFC 7662 token introspection for the Global API gateway (HTTP Basic client auth)."
        ),
        "operationId": "introspect_oauth2_introspect_post",
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "properties": {
                            "token": {
                                "type": "string",
                                "minLength": 1,
                                "description": "The token to check",
                            },
                            "token_type_hint": {"type": "string", "description": "Ignored"},
                        },
                        "type": "object",
                        "required": ["token"],
                    }
                }
            },
            "required": True,
        },
        "responses": {
            "200": {
                "description": "Successful Response",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/IntrospectionResponse"}
                    }
                },
            },
            "400": _oauth_error("No token in the request"),
            "401": _oauth_error("Missing or wrong client credentials"),
            "413": _oauth_error("The form is larger than 4 KiB"),
            "429": _oauth_error(
                "Too many failed client authentications from this address",
                headers={"Retry-After": {"required": True, "schema": {"type": "integer"}}},
            ),
            "503": _oauth_error("The database cannot answer"),
        },
        "security": [{"IntrospectionClient": []}],
    }
}

_FORWARD_AUTH = {
    "get": {
        "tags": ["introspection"],
        "summary": "Forward Auth",
        "description": (
            "Forward-auth for gateways. Any method is accepted (GET, HEAD, POST, PUT, PATCH, "
            "DELETE, OPTIONS, TRACE): the gateway forwards the original request's method."
        ),
        "operationId": "forward_auth",
        "parameters": [
            {
                "name": "authorization",
                "in": "header",
                "required": False,
                "description": "The original request's Bearer token",
                "schema": {"type": "string"},
            }
        ],
        "responses": {
            "200": {
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
            "401": {"description": "No bearer token, or not an active one"},
            "403": {"description": "Missing or wrong gateway credentials"},
            "503": {"description": "The database cannot answer"},
        },
        "security": [{"GatewayCredentials": []}],
    }
}


def document_introspection(document: dict[str, Any]) -> None:
    """Add both paths, their schemas and their security schemes to ``document``."""
    document.setdefault("paths", {}).update(
        {INTROSPECT_PATH: _INTROSPECT, FORWARD_AUTH_PATH: _FORWARD_AUTH}
    )
    components = document.setdefault("components", {})
    ref_template = "#/components/schemas/{model}"
    schemas = components.setdefault("schemas", {})
    for model in (IntrospectionResponse, OAuthError):
        schemas[model.__name__] = model.model_json_schema(ref_template=ref_template)
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
