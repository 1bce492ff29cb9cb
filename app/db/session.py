"""Engine, sessions and the request-scoped transaction.

The engine is built in the app's lifespan (never at import time). One place owns the
transaction: ``get_session`` commits when the handler returns and rolls back when it
raises; services only ``flush()``.

Work that must follow a commit (invalidating this process's introspection caches, waking
its mail sender) is registered with ``after_commit`` and run by the session's own
``after_commit`` event, so it runs whoever commits: a request, a background task or a
test. What it needs from the process (the caches, the wake-up event) reaches it through
the sessionmaker's ``info``, copied into every session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import NullPool

from app.errors import ServiceError
from app.state import app_state

# Marks a SQLite transaction that will write: it starts with BEGIN IMMEDIATE so that two
# writers queue on the database lock (busy_timeout) instead of one failing on upgrade.
WRITE_INTENT = "write_intent"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _install_sqlite_behaviour(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_INTENT, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# Behind PgBouncer in transaction pooling mode a server connection serves one transaction,
# then another client: a named prepared statement would be looked for where it was never
# made. Neither asyncpg nor SQLAlchemy's adapter may cache one; asyncpg then prepares
# unnamed statements, which live only as long as the transaction that SQLAlchemy always
# opens around them (its pre-ping too).
PGBOUNCER_CONNECT_ARGS: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
}


def create_engine(
    url: str,
    *,
    pool_size: int = 5,
    pool_timeout: float = 5.0,
    pgbouncer: bool = False,
    echo: bool = False,
) -> AsyncEngine:
    """The SQLAlchemy engine. On PostgreSQL at most ``pool_size`` connections, no overflow:
    the process's share of the connection budget (``Settings.connection_budget``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, poolclass=NullPool, echo=echo)
        _install_sqlite_behaviour(engine)
        return engine
    connect_args: dict[str, Any] = {"timeout": 5, "command_timeout": 15}
    if pgbouncer:
        connect_args.update(PGBOUNCER_CONNECT_ARGS)
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        pool_timeout=pool_timeout,
        echo=echo,
        connect_args=connect_args,
    )


class ServiceSession(Session):
    """The sync session behind every ``AsyncSession``: runs the after-commit callbacks."""


def create_sessionmaker(
    engine: AsyncEngine, *, info: dict[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions that see ``info`` (the process's caches and wake-ups) in ``session.info``."""
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=ServiceSession,
        info=info or {},
    )


async def begin_write(session: AsyncSession) -> None:
    """Start the session's transaction as a writer (BEGIN IMMEDIATE on SQLite)."""
    await session.connection(execution_options={WRITE_INTENT: True})


_AFTER_COMMIT = "after_commit_callbacks"


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(ServiceSession, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


@event.listens_for(ServiceSession, "after_transaction_end")
def _forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit
        session.info.pop(_AFTER_COMMIT, None)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_state(request.app).sessionmaker() as session:
        if request.method not in SAFE_METHODS:
            await begin_write(session)
        try:
            yield session
        except ServiceError as error:
            await (session.commit() if error.keep_changes else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


# scope="function": commit before the response is sent, so a 2xx means it is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
