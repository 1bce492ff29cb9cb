"""One error hierarchy for the services and one problem+json renderer (RFC 9457).

Services raise ``ServiceError`` subclasses, which know their HTTP status but nothing of
FastAPI. Introspection does not use this module: it keeps the OAuth error format.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ServiceError(Exception):
    status: int = 400
    title: str = "Bad request"

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})

    @property
    def type(self) -> str:
        return "about:blank" if self.status == 500 else f"/problems/{self.slug}"

    @property
    def slug(self) -> str:
        return self.title.lower().replace(" ", "-")


class BadRequest(ServiceError):
    status = 400
    title = "Bad request"


class InvalidInput(ServiceError):
    """A well-formed request whose values break a rule (reported like a validation error)."""

    status = 422
    title = "Validation failed"

    def __init__(self, detail: str, *, loc: Sequence[str | int]) -> None:
        super().__init__(detail)
        self.errors = [{"loc": list(loc), "msg": detail}]


class Unauthorized(ServiceError):
    status = 401
    title = "Not authenticated"

    def __init__(self, detail: str = "Valid credentials are required.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    title = "Payload too large"


class TooManyRequests(ServiceError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(ServiceError):
    status = 503
    title = "Service unavailable"


_HTTP_TITLES = {
    400: BadRequest.title,
    401: Unauthorized.title,
    403: Forbidden.title,
    404: NotFound.title,
    405: "Method not allowed",
    413: PayloadTooLarge.title,
}

# --- OpenAPI: the problems management operations answer --------------------------------

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


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_ or f"/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def render(error: ServiceError) -> JSONResponse:
    return problem_response(
        error.status,
        error.title,
        error.detail,
        type_=error.type,
        errors=getattr(error, "errors", None),
        headers=error.headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only loc and msg: pydantic's "input" could echo a password or a secret back.
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", ""))} for err in exc.errors()
    ]


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return render(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        422, "Validation failed", "The request is not valid.", errors=_validation_errors(exc)
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _HTTP_TITLES.get(exc.status_code) or HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return problem_response(exc.status_code, title, detail, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method of the path: Starlette's 405 names only those of its first route.

    The path is the first route template that matches (``.../tokens/revoke``, not
    ``.../tokens/{token_id}``); the methods are those of every documented route of that
    template (a hidden route there only refuses methods with 405).
    """
    path = request.scope["path"]
    template: str | None = None
    documented: set[str] = set()
    hidden: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if template is None and regex is not None and regex.match(path):
            template = route.path_format
        if template is not None and route.path_format == template and route.methods:
            in_schema = getattr(route, "include_in_schema", False)
            (documented if in_schema else hidden).update(route.methods)
    return ", ".join(sorted(documented or hidden))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if isinstance(exc, IntegrityError):
        # A race the service's own checks could not see (e.g. two concurrent creates).
        return problem_response(409, "Conflict", "The change conflicts with the current state.")
    if isinstance(exc, DataError):
        # A value the database refuses that validation let through (the driver's message
        # may quote it, so it is not repeated).
        return problem_response(422, "Validation failed", "A value is not acceptable.", errors=[])
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return await _database_unavailable(request, exc)
    return await _unexpected(request, exc)


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # Log the class only: a driver message may quote SQL parameters.
    logger.error("database unavailable: %s", type(exc).__name__)
    return problem_response(
        503,
        "Service unavailable",
        "The database is not answering; try again shortly.",
        headers={"Retry-After": "1"},
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error: %s", type(exc).__name__)
    return problem_response(
        500, "Internal server error", "An unexpected error occurred.", type_="about:blank"
    )


def _document_problem_schemas(app: FastAPI) -> None:
    """Add the ``Problem`` schemas that ``PROBLEM_RESPONSES`` refer to to the app's OpenAPI."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(copy.deepcopy(PROBLEM_SCHEMAS))
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    _document_problem_schemas(app)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _database_unavailable)
    app.add_exception_handler(OSError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
