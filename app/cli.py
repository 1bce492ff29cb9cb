"""``python -m app``: migrate, create-admin, create-introspection-client, serve."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role
from app.auth.passwords import MIN_PASSWORD_LENGTH
from app.auth.service import auth_service, generate_password
from app.config import get_settings
from app.db.session import begin_write, create_engine, create_sessionmaker
from app.errors import ServiceError
from app.introspection_clients.service import introspection_client_service
from app.logs import logging_config

ROOT = Path(__file__).resolve().parent.parent
CLI_ACTOR = "cli"
COMPONENTS = {
    "all": "app.apps:create_app",
    "management": "app.apps:create_management_app",
    "introspection": "app.apps:create_introspection_app",
}

T = TypeVar("T")


def migrate() -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    # DDL in one long transaction wants a session of its own: behind PgBouncer, migrate on
    # the direct connection (DATABASE_LISTEN_URL), not through the pool.
    config.attributes["database_url"] = get_settings().listen_url
    command.upgrade(config, "head")


async def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    settings = get_settings()
    engine = create_engine(settings.database_url, pgbouncer=settings.database_pgbouncer)
    try:
        async with create_sessionmaker(engine)() as session:
            await begin_write(session)
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated)."""
    if not from_stdin:
        return generate_password(), True
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SystemExit(f"error: the password must be at least {MIN_PASSWORD_LENGTH} characters")
    return password, False


def create_admin(username: str, role: Role, password_stdin: bool) -> None:
    password, generated = _read_password(password_stdin)

    async def work(session: AsyncSession) -> None:
        await auth_service.create_admin(
            session, username=username, role=role, password=password, actor=CLI_ACTOR
        )

    asyncio.run(_in_transaction(work))
    print(f"created {role.value} user {username.strip().casefold()!r}")
    if generated:
        print(f"password (shown once): {password}")


def bootstrap_admin(host: str, port: int) -> None:
    """Create ``admin`` unless a user with the admin role exists (what ``make run`` calls)."""
    password = generate_password()

    async def work(session: AsyncSession) -> bool:
        if await auth_service.has_admin_role_user(session):
            return False
        await auth_service.create_admin(
            session, username="admin", role=Role.ADMIN, password=password, actor=CLI_ACTOR
        )
        return True

    if not asyncio.run(_in_transaction(work)):
        print("a user with the admin role exists already; not creating one")
        return
    print("created the first admin user 'admin'")
    print(f"password (shown once, store it now): {password}")
    print(
        f"log in: curl -s -X POST http://{host}:{port}/api/v1/auth/token "
        f"-d username=admin --data-urlencode 'password={password}'"
    )


def create_introspection_client(name: str) -> None:
    async def work(session: AsyncSession) -> dict[str, str]:
        created = await introspection_client_service.create(session, name=name, actor=CLI_ACTOR)
        return {
            "client_id": str(created.client.id),
            "client_secret": created.secret,
            "name": created.client.name,
        }

    print(json.dumps(asyncio.run(_in_transaction(work))))


def serve(host: str, port: int, workers: int, component: str) -> None:
    import uvicorn

    settings = get_settings()
    if workers > 1:
        _use_multiprocess_metrics()
    if settings.is_sqlite and workers > 1:
        raise SystemExit(
            "error: the embedded SQLite database supports one worker; use PostgreSQL for more"
        )
    uvicorn.run(
        COMPONENTS[component],
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        server_header=False,
        http="app.server:BoundedHttpToolsProtocol",  # request line and headers bounded
        timeout_graceful_shutdown=20,
        log_level=settings.log_level.lower(),
        log_config=logging_config(level=settings.log_level, json_lines=settings.json_logs),
        access_log=False,  # app.logs.RequestContext writes access lines, without query strings
    )


def _use_multiprocess_metrics() -> None:
    """Workers are processes: let each write its metrics where a scrape of any can read all."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gi-metrics-")
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # samples of a previous run
        stale.unlink()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="alembic upgrade head on DATABASE_URL")
    admin = commands.add_parser("create-admin", help="create an admin user")
    admin.add_argument("username")
    admin.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    bootstrap = commands.add_parser(
        "bootstrap-admin", help="create 'admin' if there is no admin user"
    )
    bootstrap.add_argument("--host", default="127.0.0.1")
    bootstrap.add_argument("--port", type=int, default=8000)
    client = commands.add_parser("create-introspection-client", help="create gateway credentials")
    client.add_argument("name")
    run = commands.add_parser("serve", help="run the service")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=1)
    run.add_argument("--component", choices=sorted(COMPONENTS), default="all")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        if args.command == "migrate":
            migrate()
        elif args.command == "create-admin":
            create_admin(args.username, Role(args.role), args.password_stdin)
        elif args.command == "bootstrap-admin":
            bootstrap_admin(args.host, args.port)
        elif args.command == "create-introspection-client":
            if not args.name.strip() or len(args.name) > 200:
                raise SystemExit("error: NAME must be 1 to 200 characters")
            create_introspection_client(args.name.strip())
        else:
            serve(args.host, args.port, args.workers, args.component)
    except ServiceError as error:
        raise SystemExit(f"error: {error.detail}") from None
    except ValidationError as error:
        # Only where and what: the offending value may be a URL with a password in it.
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        raise SystemExit(f"error: invalid configuration: {problems}") from None
    except (DBAPIError, OSError) as error:
        if args.command == "serve":
            raise
        # The driver's message may quote SQL and its parameters, so only the class is shown.
        raise SystemExit(
            f"error: cannot use the database at DATABASE_URL ({type(error).__name__}); "
            "is it reachable, and has `python -m app migrate` been run?"
        ) from None
