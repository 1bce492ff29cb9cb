"""The ASGI apps: management (REST + CORS), introspection (hot path only), or both.

All three share one lifespan: the engine, the sessionmaker and the introspection runtime
are built when the app starts, never at import time, and kept in one typed ``AppState``.
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

from app import console, discovery, health, metrics
from app.audit import endpoints as audit_endpoints
from app.auth import endpoints as auth_endpoints
from app.auth.service import record_throttled_refusals_forever
from app.auth.throttle import LoginThrottle
from app.config import Settings, get_settings
from app.db.session import create_engine, create_sessionmaker
from app.docs import install_docs
from app.exception_handlers import install_exception_handlers
from app.integrations import endpoints as integration_endpoints
from app.introspection.endpoints import (
    FORWARD_AUTH_PATH,
    INTROSPECT_PATH,
    ForwardAuthEndpoint,
    IntrospectionEndpoint,
)
from app.introspection.invalidation import LOCAL_CACHES
from app.introspection.openapi import document_introspection
from app.introspection.runtime import IntrospectionRuntime
from app.introspection.service import Introspector
from app.introspection_clients import endpoints as introspection_client_endpoints
from app.logs import RequestContext
from app.middleware import BodySizeLimit, SingleCredentialHeaders
from app.notifications.sender import SENDER_WAKEUP
from app.notifications.tasks import start_notification_tasks
from app.problems import PROBLEM_RESPONSES, document_problem_schemas
from app.state import AppState, app_state, set_app_state
from app.tokens import endpoints as token_endpoints
from app.tokens import oauth_endpoints

API_PREFIX = "/api/v1"
INTROSPECTION_MAX_BODY_BYTES = 64 * 1024

OpenAPIExtension = Callable[[dict[str, Any]], None]


class ServiceApp(FastAPI):
    """FastAPI, plus raw ASGI handlers that see their requests before routing and middleware.

    Only the introspection hot path uses ``fast_routes``; everything else is plain FastAPI.
    ``openapi_extensions`` describe in OpenAPI what FastAPI's routes do not.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fast_routes: dict[str, ASGIApp] = {}  # path -> handler, for every method
        self.openapi_extensions: list[OpenAPIExtension] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = self.fast_routes.get(scope["path"])
            if handler is not None:
                await handler(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document = super().openapi()
            for extend in self.openapi_extensions:
                extend(document)
        return self.openapi_schema  # type: ignore[return-value]  # set by super().openapi()


def _connections_in_use(engine: AsyncEngine, runtime: IntrospectionRuntime) -> dict[str, int]:
    pool = engine.pool
    checked_out = pool.checkedout() if isinstance(pool, QueuePool) else 0
    return {"management": checked_out, "introspection": runtime.store.connections_in_use()}


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _lifespan(
    settings: Settings, *, management: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.connection_budget.management,
            pool_timeout=settings.database_pool_timeout_seconds,
            pgbouncer=settings.database_pgbouncer,
        )
        introspection = await IntrospectionRuntime.start(settings, engine)
        sender_wakeup = asyncio.Event()
        # Every session hands its after-commit work what this process holds.
        sessionmaker = create_sessionmaker(
            engine, info={LOCAL_CACHES: [introspection.cache], SENDER_WAKEUP: sender_wakeup}
        )
        login_throttle = LoginThrottle.from_settings(settings)
        set_app_state(
            app,
            AppState(
                settings=settings,
                engine=engine,
                sessionmaker=sessionmaker,
                introspection=introspection,
                login_throttle=login_throttle,
            ),
        )
        tasks = [
            asyncio.create_task(
                metrics.fold_forever(lambda: _connections_in_use(engine, introspection)),
                name="metrics",
            )
        ]
        if management:  # the introspection component serves no logins and sends no mail
            tasks.append(
                asyncio.create_task(
                    record_throttled_refusals_forever(sessionmaker, login_throttle),
                    name="throttled-login-summaries",
                )
            )
            tasks.extend(
                start_notification_tasks(settings, sessionmaker, sender_wakeup=sender_wakeup)
            )
        try:
            yield
        finally:
            for task in tasks:
                await _stop(task)
            await introspection.aclose()
            await engine.dispose()

    return lifespan


def _management_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
    for module_router in (
        auth_endpoints.router,
        integration_endpoints.router,
        token_endpoints.router,
        introspection_client_endpoints.router,
        audit_endpoints.router,
        token_endpoints.leaked_router,
    ):
        router.include_router(module_router)
    return router


def create_management_app(settings: Settings | None = None) -> FastAPI:
    return _build(settings or get_settings(), management=True, introspection=False)


def create_introspection_app(settings: Settings | None = None) -> FastAPI:
    return _build(settings or get_settings(), management=False, introspection=True)


def create_app(settings: Settings | None = None) -> FastAPI:
    return _build(settings or get_settings(), management=True, introspection=True)


def _build(settings: Settings, *, management: bool, introspection: bool) -> FastAPI:
    app = ServiceApp(
        title="Global Integrations service",
        version="1.0.0",
        description="Custom global integrations, their access tokens, and RFC 7662 introspection.",
        lifespan=_lifespan(settings, management=management),
        docs_url=None,  # app.docs serves /docs from local files, not a CDN
        redoc_url=None,
        openapi_url="/openapi.json" if management else None,
        debug=settings.debug,
        redirect_slashes=False,  # Starlette's slash redirect echoes Host: an open redirect
    )
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(discovery.router)
    app.include_router(oauth_endpoints.router)
    app.openapi_extensions.append(oauth_endpoints.document_security)
    if introspection:
        _mount_introspection(app)
    if management:
        install_docs(app, openapi_url="/openapi.json")
        app.include_router(_management_router())
        console.mount(app)  # the operators' SPA at /console/, and / redirects there
        app.openapi_extensions.append(document_problem_schemas)
        install_exception_handlers(app)
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
    app.add_middleware(SingleCredentialHeaders)
    app.add_middleware(metrics.RequestMetrics)
    app.add_middleware(RequestContext, access_log=settings.access_log)
    return app


def _mount_introspection(app: ServiceApp) -> None:
    def introspector() -> Introspector:
        return app_state(app).introspection.introspector

    app.fast_routes[INTROSPECT_PATH] = IntrospectionEndpoint(introspector)
    app.fast_routes[FORWARD_AUTH_PATH] = ForwardAuthEndpoint(introspector)
    app.openapi_extensions.append(document_introspection)
