"""problem+json (RFC 9457): the one renderer, and how OpenAPI documents it."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

from app.errors import ServiceError

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_body(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_ or f"/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem_bytes(status: int, title: str, detail: str) -> bytes:
    """A problem body for raw ASGI code, which has no JSONResponse."""
    return json.dumps(problem_body(status, title, detail)).encode()


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, title, detail, type_=type_, errors=errors),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def render(error: ServiceError) -> JSONResponse:
    return problem_response(
        error.status,
        error.title,
        error.detail,
        type_=error.type,
        errors=error.errors,
        headers=error.headers,
    )


# --- OpenAPI ---------------------------------------------------------------------------

PROBLEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "description": "Validation failures: where, and what is wrong.",
                "items": {"$ref": "#/components/schemas/ProblemError"},
            },
        },
    },
    "ProblemError": {
        "title": "ProblemError",
        "type": "object",
        "required": ["loc", "msg"],
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
        },
    },
}


def documented_problem(description: str, **headers: str) -> dict[str, Any]:
    """An OpenAPI response with a problem+json body (and the headers it always carries)."""
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if headers:
        response["headers"] = {
            name: {"description": text, "required": True, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return response


# Applied to the whole management router; a route may add (or describe better) its own.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: documented_problem("The request cannot be parsed"),
    401: documented_problem("No valid session", **{"WWW-Authenticate": "Bearer"}),
    403: documented_problem("The caller's role may not do this"),
    404: documented_problem("Unknown, or not reachable through the given parent"),
    409: documented_problem("Conflicts with the current state"),
    413: documented_problem("The request body is too large"),
    422: documented_problem("The input is not valid"),
    503: documented_problem(
        "The database is not answering", **{"Retry-After": "Seconds to wait before retrying"}
    ),
}


def document_problem_schemas(document: dict[str, Any]) -> None:
    """Add the ``Problem`` schemas that ``PROBLEM_RESPONSES`` refer to."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(copy.deepcopy(PROBLEM_SCHEMAS))
