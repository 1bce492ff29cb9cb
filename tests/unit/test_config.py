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
