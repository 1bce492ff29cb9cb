"""``python -m app``: migrate, create-admin, reset-password, create-introspection-client,
bootstrap-admin, serve."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from asyncpg import PostgresError
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app import schema
from app.auth.models import Role
from app.auth.passwords import MIN_PASSWORD_LENGTH
from app.auth.service import auth_service, generate_password
from app.config import Settings, get_settings
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


def reset_password(username: str, password_stdin: bool) -> None:
    password, generated = _read_password(password_stdin)

    async def work(session: AsyncSession) -> int:
        return await auth_service.reset_password(
            session, username=username, password=password, actor=CLI_ACTOR
        )

    ended = asyncio.run(_in_transaction(work))
    print(f"password of {username.strip().casefold()!r} reset; {ended} session(s) ended")
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


def serve(
    host: str,
    port: int,
    workers: int,
    component: str,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> None:
    import uvicorn

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise SystemExit("error: --ssl-certfile and --ssl-keyfile must be given together")
    if ssl_certfile is not None:  # the options win over SSL_CERTFILE / SSL_KEYFILE
        os.environ["SSL_CERTFILE"], os.environ["SSL_KEYFILE"] = ssl_certfile, str(ssl_keyfile)
        get_settings.cache_clear()
    settings = get_settings()
    if settings.is_sqlite and workers > 1:
        raise SystemExit(
            "error: the embedded SQLite database supports one worker; use PostgreSQL for more"
        )
    _follow_address_with_issuer(settings, host, port)
    _refuse_taken_port(host, port)
    asyncio.run(_refuse_stale_schema(settings))
    if workers > 1:
        _use_multiprocess_metrics()
    tls = settings.ssl_certfile is not None
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
        ssl_certfile=str(settings.ssl_certfile) if tls else None,
        ssl_keyfile=str(settings.ssl_keyfile) if tls else None,
    )


def _follow_address_with_issuer(settings: Settings, host: str, port: int) -> None:
    """In development an unset ISSUER is where this server listens (not always :8000)."""
    if settings.environment != "development" or "issuer" in settings.model_fields_set:
        return
    scheme = "https" if settings.ssl_certfile is not None else "http"
    name = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    name = f"[{name}]" if ":" in name else name
    os.environ["ISSUER"] = f"{scheme}://{name}:{port}"  # read again by the app's factory
    get_settings.cache_clear()


def _refuse_taken_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise SystemExit(
                    f"error: port {port} on {host} is taken (is the service already running?); "
                    f"pick another with --port {port + 1} (make run PORT={port + 1})"
                ) from None
            raise SystemExit(f"error: cannot listen on {host}:{port}: {error.strerror}") from None


async def _refuse_stale_schema(settings: Settings) -> None:
    engine = create_engine(
        settings.database_url, pool_size=1, pgbouncer=settings.database_pgbouncer
    )
    try:
        async with engine.connect() as connection:
            current_ok = await schema.is_current(connection)
    finally:
        await engine.dispose()
    if not current_ok:
        raise SystemExit(
            "error: the database at DATABASE_URL is not at this version's schema: "
            "run `python -m app migrate` (make run does it for you)"
        )


def _use_multiprocess_metrics() -> None:
    """Workers are processes: let each write its metrics where a scrape of any can read all."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gi-metrics-")
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # samples of a previous run
        stale.unlink()


DESCRIPTION = """\
Global Integrations service: access tokens for custom global integrations, and RFC 7662
introspection for the Global API gateway.

Settings come from the environment or a .env file (DATABASE_URL, ISSUER, ...); the README's
Configuration section lists each with its default and bounds. Run COMMAND --help for its
options."""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """One line per option, ending with its default; descriptions kept as written."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=38, width=100)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        if isinstance(action, argparse._StoreTrueAction):
            return f"{text} (default: off)"
        if action.default is None:
            return f"{text} (default: unset)"
        return f"{text} (default: {action.default})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app", description=DESCRIPTION, formatter_class=_HelpFormatter
    )
    commands = parser.add_subparsers(
        dest="command", required=True, title="commands", metavar="COMMAND"
    )

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=summary, description=summary, formatter_class=_HelpFormatter
        )

    command("migrate", "bring the database at DATABASE_URL to the latest schema")
    admin = command("create-admin", "create an admin user; prints a generated password once")
    admin.add_argument("username", help="the new user's name")
    admin.add_argument(
        "--role", choices=[r.value for r in Role], default=Role.ADMIN.value, help="what it may do"
    )
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin instead"
    )
    reset = command("reset-password", "set a user's password, end its sessions; prints it once")
    reset.add_argument("username", help="the user whose password is reset")
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the new password from stdin instead"
    )
    client = command("create-introspection-client", "create gateway credentials; prints them once")
    client.add_argument("name", help="what the gateway is, e.g. nginx-eu")
    bootstrap = command(
        "bootstrap-admin", "create the user 'admin' unless an admin exists (make run uses it)"
    )
    bootstrap.add_argument("--host", default="127.0.0.1", help="host for the printed login line")
    bootstrap.add_argument("--port", type=int, default=8000, help="port for the printed login line")
    run = command("serve", "run the service (HTTP, or HTTPS with the --ssl options)")
    run.add_argument("--host", default="127.0.0.1", help="address to listen on")
    run.add_argument("--port", type=int, default=8000, help="port to listen on")
    run.add_argument("--workers", type=int, default=1, help="processes (more than 1: PostgreSQL)")
    run.add_argument(
        "--component",
        choices=sorted(COMPONENTS),
        default="all",
        metavar="NAME",
        help="all, management (admin API) or introspection (gateway)",
    )
    run.add_argument("--ssl-certfile", metavar="FILE", help="PEM certificate: serve HTTPS")
    run.add_argument("--ssl-keyfile", metavar="FILE", help="PEM private key of the certificate")
    return parser


def _settings_problem(error: ValidationError) -> str:
    """Which setting and what is wrong with it, never its value (it may hold a password)."""
    problems = []
    for entry in error.errors():
        name = ".".join(str(part) for part in entry["loc"]).upper()
        message = entry["msg"].removeprefix("Value error, ")
        problems.append(f"{name}: {message}" if name else message)
    return "; ".join(problems)


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        pending.extend([current.__cause__, current.__context__, getattr(current, "orig", None)])
    return seen


def database_problem(error: BaseException) -> str:
    """One line for a database that cannot be used: what is wrong and what to do."""
    causes = _causes(error)
    names = {type(cause).__name__ for cause in causes}
    text = " ".join(
        str(cause) for cause in causes if isinstance(cause, DBAPIError | PostgresError | OSError)
    )
    if "InvalidCatalogNameError" in names:
        return (
            "the PostgreSQL database named in DATABASE_URL does not exist: create it "
            "(createdb NAME), then run `python -m app migrate`"
        )
    if names & {"InvalidAuthorizationSpecificationError", "InvalidPasswordError"}:
        return (
            "PostgreSQL refused the user or password in DATABASE_URL (an unknown role?): "
            "check DATABASE_URL"
        )
    if "no such table" in text or "UndefinedTableError" in names:
        return "the database has no schema yet: run `python -m app migrate`"
    if "database is locked" in text:
        return "the SQLite database is busy (another process is writing to it): try again"
    if "unable to open database file" in text:
        return "cannot open the SQLite file in DATABASE_URL: is its directory writable?"
    if any(isinstance(cause, ConnectionError | socket.gaierror | TimeoutError) for cause in causes):
        return (
            "cannot reach the database server in DATABASE_URL: is it running, "
            "and are its host and port right?"
        )
    # The driver's message may quote SQL and its parameters, so only the class is shown.
    return (
        f"cannot use the database at DATABASE_URL ({type(error).__name__}); "
        "is it reachable, and has `python -m app migrate` been run?"
    )


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        if args.command == "migrate":
            migrate()
        elif args.command == "create-admin":
            create_admin(args.username, Role(args.role), args.password_stdin)
        elif args.command == "reset-password":
            reset_password(args.username, args.password_stdin)
        elif args.command == "bootstrap-admin":
            bootstrap_admin(args.host, args.port)
        elif args.command == "create-introspection-client":
            if not args.name.strip() or len(args.name) > 200:
                raise SystemExit("error: NAME must be 1 to 200 characters")
            create_introspection_client(args.name.strip())
        else:
            serve(
                args.host,
                args.port,
                args.workers,
                args.component,
                args.ssl_certfile,
                args.ssl_keyfile,
            )
    except ServiceError as error:
        raise SystemExit(f"error: {error.detail}") from None
    except ValidationError as error:
        raise SystemExit(
            f"error: invalid configuration: {_settings_problem(error)} "
            "(see the README's Configuration section)"
        ) from None
    except SettingsError as error:
        raise SystemExit(f"error: invalid configuration: {error}") from None
    except (DBAPIError, PostgresError, OSError) as error:
        raise SystemExit(f"error: {database_problem(error)}") from None
