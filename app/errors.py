"""One error hierarchy for the services and one problem+json renderer (RFC 9457).

Services raise ``ServiceError`` subclasses, which know their HTTP status but nothing of
FastAPI. Introspection does not use this module: it keeps the OAuth error format.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _HTTP_TITLES.get(exc.status_code) or HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem_response(exc.status_code, title, detail, headers=exc.headers)


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


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _database_unavailable)
    app.add_exception_handler(OSError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
