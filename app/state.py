"""What a running app holds, typed: built once in the lifespan, read by handlers and tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from starlette.applications import Starlette

if TYPE_CHECKING:  # imported for the annotations only: the modules below import this one
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from app.auth.throttle import LoginThrottle
    from app.config import Settings
    from app.introspection.runtime import IntrospectionRuntime


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    introspection: IntrospectionRuntime
    login_throttle: LoginThrottle


def app_state(app: Starlette) -> AppState:
    """The state of a started app (its lifespan has run)."""
    return cast(AppState, app.state.service)


def set_app_state(app: Starlette, state: AppState) -> None:
    app.state.service = state
