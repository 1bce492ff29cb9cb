"""Helpers shared by the hardening tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from app import token_format
from app.auth.models import AdminSession, AdminUser
from app.db.base import utc_now
from app.db.session import create_engine, create_sessionmaker

T = TypeVar("T")


def run_in_fresh_loop(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` to completion on a new event loop in a thread of its own.

    For synchronous tests (hypothesis, subprocesses) that need the database: the test
    session's loop must not be touched from them.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, work()).result(timeout=60)


async def mint_admin_session(database_url: str, username: str) -> str:
    """A new bearer session for an existing admin user, written straight to the database.

    Used where logging in over HTTP would be refused: after a test made the login
    throttle lock the test's own client address.
    """
    engine = create_engine(database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            user_id = (
                await session.execute(select(AdminUser.id).where(AdminUser.username == username))
            ).scalar_one()
            secret = token_format.generate(token_format.SESSION_TOKEN_PREFIX)
            session.add(
                AdminSession(
                    user_id=user_id,
                    token_digest=token_format.digest(secret),
                    expires_at=utc_now() + timedelta(hours=1),
                )
            )
            await session.commit()
            return secret
    finally:
        await engine.dispose()


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``python -m app serve`` process on the test database."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "ISSUER": "https://hardening.test",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the template, e.g. /api/v1/integrations/{integration_id}
    documented: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def route_table(app: FastAPI) -> list[Route]:
    """Every (method, path) the app serves: its routes, and its raw ASGI fast paths."""
    routes = set()
    for context in iter_route_contexts(app.routes):
        documented = bool(getattr(context, "include_in_schema", False))
        for method in context.methods or ():
            routes.add(Route(method, str(context.path_format), documented))
    documented_paths = app.openapi()["paths"] if app.openapi_url else {}
    for path in getattr(app, "fast_routes", {}):  # served for every method
        documented_methods = {method.upper() for method in documented_paths.get(path, {})}
        for method in HTTP_METHODS:
            routes.add(Route(method, path, method in documented_methods))
    return sorted(routes, key=lambda r: (r.path, r.method))
