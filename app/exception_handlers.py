"""Every exception a management request can raise, rendered as problem+json.

Services raise ``ServiceError``s; FastAPI raises validation and HTTP errors; the database
layer raises SQLAlchemy's errors. Nothing reaches a client as a traceback, SQL or a
driver's message.
"""

from __future__ import annotations

import logging
import socket
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, ServiceError, Unauthorized
from app.problems import problem_response, render

logger = logging.getLogger(__name__)

_HTTP_TITLES = {
    400: BadRequest.title,
    401: Unauthorized.title,
    403: Forbidden.title,
    404: NotFound.title,
    405: "Method not allowed",
    413: PayloadTooLarge.title,
}
# What a lost or unreachable database looks like when the driver raises it unwrapped
# (connecting): the network's errors, not every OSError.
_NETWORK_ERRORS = (ConnectionError, TimeoutError, socket.gaierror)
# SQLSTATEs of a server (PostgreSQL or PgBouncer) that refuses to serve a connection now:
# class 08 (connection exception; PgBouncer's pool limits), class 53 (insufficient
# resources: 53300 too_many_connections, also per role or database), and 57P01-57P03
# (shutting down, starting up).
_REFUSING_SQLSTATE_PREFIXES = ("08", "53", "57P01", "57P02", "57P03")


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
    if _refused(getattr(exc.orig, "sqlstate", None)):
        return await _database_refused(request, exc)
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return await _database_unavailable(request, exc)
    return await _unexpected(request, exc)


def _refused(sqlstate: object) -> bool:
    return isinstance(sqlstate, str) and sqlstate.startswith(_REFUSING_SQLSTATE_PREFIXES)


async def _driver_error(request: Request, exc: Exception) -> JSONResponse:
    """asyncpg's own error, raised unwrapped when a connection is being opened."""
    assert isinstance(exc, asyncpg.PostgresError)
    if _refused(exc.sqlstate):
        return await _database_refused(request, exc)
    return await _unexpected(request, exc)


async def _database_refused(_: Request, exc: Exception) -> JSONResponse:
    # The server answers but will not take another connection (its max_connections, a
    # role's CONNECTION LIMIT, PgBouncer's pool): capacity, not an outage.
    logger.error("database refused a connection: %s", type(exc).__name__)
    return _unavailable("The database refused a connection; try again shortly.")


async def _service_busy(_: Request, exc: Exception) -> JSONResponse:
    # Every connection of this process's pool stayed in use for DATABASE_POOL_TIMEOUT_SECONDS:
    # the database is up, this process is saturated.
    logger.warning("database pool exhausted: %s", type(exc).__name__)
    return _unavailable("The service is busy; try again shortly.")


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # Log the class only: a driver message may quote SQL parameters.
    logger.error("database unavailable: %s", type(exc).__name__)
    return _unavailable("The database is not answering; try again shortly.")


def _unavailable(detail: str) -> JSONResponse:
    return problem_response(503, "Service unavailable", detail, headers={"Retry-After": "1"})


async def _os_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, _NETWORK_ERRORS):
        return await _database_unavailable(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error: %s", type(exc).__name__)
    return problem_response(
        500, "Internal server error", "An unexpected error occurred.", type_="about:blank"
    )


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _service_busy)
    app.add_exception_handler(asyncpg.PostgresError, _driver_error)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(Exception, _unexpected)
