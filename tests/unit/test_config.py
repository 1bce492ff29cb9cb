from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings, normalise_database_url


@pytest.fixture(autouse=True)
def _no_database_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
    ],
)
def test_database_urls_are_normalised(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_default_database_is_sqlite_under_var() -> None:
    assert Settings(_env_file=None).database_url == "sqlite+aiosqlite:///var/integrations.db"  # type: ignore[call-arg]


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(database_url="mysql://u@h/db")


def test_production_refuses_sqlite() -> None:
    with pytest.raises(ValidationError, match="PostgreSQL"):
        Settings(environment="production", issuer="https://i.example")


def test_production_requires_an_explicit_issuer() -> None:
    with pytest.raises(ValidationError, match="ISSUER"):
        Settings(environment="production", database_url="postgresql://u@h/db")


def test_production_with_postgres_and_issuer_is_accepted() -> None:
    settings = Settings(
        environment="production", database_url="postgresql://u@h/db", issuer="https://i.example"
    )
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("http_head_timeout_seconds", 0),
        ("http_head_timeout_seconds", 301),
        ("http_body_timeout_seconds", 0),
        ("http_body_timeout_seconds", 601),
        ("http_keep_alive_seconds", 0),
        ("http_keep_alive_seconds", 3601),
        ("http_max_connections", 0),
        ("http_max_connections", 100_001),
    ],
)
def test_http_server_limits_are_bounded(name: str, value: float) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(**{name: value})


def test_http_server_limits_have_finite_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.http_head_timeout_seconds == 10
    assert settings.http_body_timeout_seconds == 30
    assert settings.http_keep_alive_seconds == 75
    assert settings.http_max_connections == 1000


PG = "postgresql://u@h/db"


def test_default_budget_fits_a_default_postgresql_four_workers_twice() -> None:
    budget = Settings(_env_file=None, database_url=PG).connection_budget  # type: ignore[call-arg]
    assert (budget.management, budget.introspection, budget.listen) == (5, 4, 1)
    assert budget.total == 10
    # 2 replicas x 4 workers under max_connections=100 minus 3 reserved for superusers
    assert 2 * 4 * budget.total <= 100 - 3


def test_an_unset_pool_takes_what_the_other_leaves() -> None:
    only_management = Settings(database_url=PG, database_max_connections=12, database_pool_size=8)
    assert only_management.connection_budget.introspection == 3
    only_introspection = Settings(
        database_url=PG, database_max_connections=12, introspection_pool_size=8
    )
    assert only_introspection.connection_budget.management == 3


@pytest.mark.parametrize(
    "fields",
    [
        {"database_max_connections": 10, "database_pool_size": 8, "introspection_pool_size": 4},
        {"database_max_connections": 10, "database_pool_size": 9},
        {"database_max_connections": 10, "introspection_pool_size": 9},
    ],
)
def test_pools_larger_than_the_cap_are_refused_at_start_up(fields: dict[str, int]) -> None:
    with pytest.raises(ValidationError, match="DATABASE_MAX_CONNECTIONS=10 is too small"):
        Settings(database_url=PG, **fields)


def test_the_cap_has_room_for_one_connection_of_each_kind() -> None:
    with pytest.raises(ValidationError, match="database_max_connections"):
        Settings(database_url=PG, database_max_connections=2)


def test_listen_url_defaults_to_the_database_url() -> None:
    assert Settings(database_url=PG).listen_url == "postgresql+asyncpg://u@h/db"
    direct = Settings(database_url=PG, database_listen_url="postgres://u@direct/db")
    assert direct.listen_url == "postgresql+asyncpg://u@direct/db"


def test_pgbouncer_requires_a_direct_listen_url() -> None:
    with pytest.raises(ValidationError, match="DATABASE_LISTEN_URL"):
        Settings(database_url=PG, database_pgbouncer=True)
    settings = Settings(
        database_url=PG, database_pgbouncer=True, database_listen_url="postgresql://u@d/db"
    )
    assert settings.database_pgbouncer


def test_pgbouncer_settings_need_postgresql() -> None:
    with pytest.raises(ValidationError, match="PostgreSQL"):
        Settings(database_url="sqlite:///x.db", database_listen_url="postgresql://u@d/db")
