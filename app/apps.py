"""The ASGI apps: management (REST + CORS), introspection (hot path only), or both.

All three share one lifespan: the engine, the sessionmaker and the introspection
machinery are built when the app starts, never at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.types import ASGIApp, Receive, Scope, Send

from app import console, health, metrics
from app.audit import endpoints as audit_endpoints
from app.auth import endpoints as auth_endpoints
from app.config import Settings, get_settings
from app.db.session import create_engine, create_sessionmaker
from app.errors import PROBLEM_RESPONSES, install_problem_handlers
from app.integrations import endpoints as integration_endpoints
from app.introspection import client_endpoints, forward_auth
from app.introspection import endpoints as introspection_endpoints
from app.introspection.cache import IntrospectionCache
from app.introspection.endpoints import IntrospectionEndpoint
from app.introspection.forward_auth import ForwardAuthEndpoint
from app.introspection.invalidation import InvalidationListener
from app.introspection.last_used import LastUsedRecorder
from app.introspection.service import Introspector
from app.introspection.store import IntrospectionStore, PostgresStore, SqlAlchemyStore, asyncpg_dsn
from app.leaks import endpoints as leak_endpoints
from app.logs import RequestContext
from app.middleware import BodySizeLimit
from app.notifications.tasks import start_notification_tasks
from app.tokens import endpoints as token_endpoints

API_PREFIX = "/api/v1"
INTROSPECTION_MAX_BODY_BYTES = 64 * 1024


class ServiceApp(FastAPI):
    """FastAPI, plus raw ASGI handlers that see their requests before routing and middleware.

    Only the introspection hot path uses this; everything else is plain FastAPI.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # (method, path) -> handler; method None: every method of that path.
        self.fast_routes: dict[tuple[str | None, str], ASGIApp] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.fast_routes:
            path = scope["path"]
            handler = self.fast_routes.get((scope["method"], path)) or self.fast_routes.get(
                (None, path)
            )
            if handler is not None:
                await handler(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _introspection_store(settings: Settings, engine: AsyncEngine) -> IntrospectionStore:
    if settings.is_sqlite:
        return SqlAlchemyStore(engine)
    return await PostgresStore.connect(
        settings.database_url, pool_size=settings.introspection_pool_size
    )


def _connections_in_use(engine: AsyncEngine, store: IntrospectionStore) -> dict[str, int]:
    pool = engine.pool
    checked_out = pool.checkedout() if isinstance(pool, QueuePool) else 0
    return {"management": checked_out, "introspection": store.connections_in_use()}


def _lifespan(
    settings: Settings, *, notifications: bool = False
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        store = await _introspection_store(settings, engine)
        last_used = LastUsedRecorder(
            store.write_last_used, interval=settings.last_used_flush_seconds
        )
        # SQLite is one process: every change passes through it, so the cache can be
        # trusted at once. On PostgreSQL only once the invalidation listener is up.
        cache = IntrospectionCache(
            max_entries=settings.introspection_cache_size,
            ttl_seconds=settings.introspection_cache_ttl_seconds,
            trusted=settings.is_sqlite,
        )
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.last_used = last_used
        app.state.introspection_cache = cache
        app.state.introspector = Introspector(
            store=store,
            cache=cache,
            issuer=settings.issuer,
            last_used=last_used,
            client_max_failures=settings.client_auth_failures_per_address,
        )
        tasks = [
            asyncio.create_task(last_used.run_forever(), name="last-used-flusher"),
            asyncio.create_task(
                metrics.fold_forever(lambda: _connections_in_use(engine, store)), name="metrics"
            ),
        ]
        app.state.invalidation_listener = None
        if not settings.is_sqlite:
            listener = InvalidationListener(asyncpg_dsn(settings.database_url), cache)
            app.state.invalidation_listener = listener
            tasks.append(asyncio.create_task(listener.run_forever(), name="invalidation-listener"))
        if notifications:  # management only: the introspection component sends no mail
            tasks.extend(start_notification_tasks(settings, app.state.sessionmaker))
        try:
            yield
        finally:
            for task in tasks:
                await _stop(task)
            await last_used.flush()
            await store.close()
            await engine.dispose()

    return lifespan


def _management_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
    for module in (
        auth_endpoints,
        integration_endpoints,
        token_endpoints,
        client_endpoints,
        audit_endpoints,
        leak_endpoints,
    ):
        router.include_router(module.router)
    return router


def _base_app(settings: Settings, *, with_docs: bool, notifications: bool = False) -> ServiceApp:
    return ServiceApp(
        title="Global Integrations service",
        version="1.0.0",
        description="Custom global integrations, their access tokens, and RFC 7662 introspection.",
        lifespan=_lifespan(settings, notifications=notifications),
        docs_url="/docs" if with_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if with_docs else None,
        debug=settings.debug,
    )


def create_management_app(settings: Settings | None = None) -> FastAPI:
    return _build(settings or get_settings(), management=True, introspection=False)


def create_introspection_app(settings: Settings | None = None) -> FastAPI:
    return _build(settings or get_settings(), management=False, introspection=True)


def create_app(settings: Settings | None = None) -> FastAPI:
    return _build(settings or get_settings(), management=True, introspection=True)


def _build(settings: Settings, *, management: bool, introspection: bool) -> FastAPI:
    app = _base_app(settings, with_docs=management, notifications=management)
    app.include_router(health.router)
    app.include_router(metrics.router)
    if introspection:
        app.include_router(introspection_endpoints.router)
        app.include_router(forward_auth.router)
        app.fast_routes[("POST", introspection_endpoints.PATH)] = IntrospectionEndpoint(app)
        app.fast_routes[(None, forward_auth.PATH)] = ForwardAuthEndpoint(app)
    if management:
        app.include_router(_management_router())
        console.mount(app)  # the operators' SPA at /console/, and / redirects there
        install_problem_handlers(app)
        if settings.cors_origins:
            app.add_middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            )
    max_body = settings.max_body_bytes if management else INTROSPECTION_MAX_BODY_BYTES
    app.add_middleware(BodySizeLimit, max_bytes=max_body)
    app.add_middleware(metrics.RequestMetrics)
    app.add_middleware(RequestContext, access_log=settings.access_log)
    return app
