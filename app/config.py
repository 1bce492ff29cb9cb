"""Service settings, read once from the environment (prefix-free, `.env` supported).

Fails fast: a bad value stops the process at start-up with a clear message instead of
surfacing later as a 500.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "integrations.db"


def default_database_url() -> str:
    return f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}"


def normalise_database_url(url: str) -> str:
    """Accept the URL spellings operators paste from their hosting panels."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default_factory=default_database_url)
    database_pool_size: int = Field(default=10, ge=1, le=200)
    issuer: str = "http://127.0.0.1:8000"
    session_ttl_seconds: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    cors_origins: list[str] = Field(default_factory=list)
    last_used_flush_seconds: float = Field(default=60.0, gt=0, le=3600)
    log_level: str = "INFO"
    access_log: bool = True
    introspection_cache_size: int = Field(default=100_000, ge=0, le=10_000_000)
    introspection_cache_ttl_seconds: float = Field(default=60.0, gt=0, le=3600)
    introspection_pool_size: int = Field(default=10, ge=1, le=200)

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        url = normalise_database_url(value.strip())
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return url

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment != "production":
            return self
        if self.is_sqlite:
            raise ValueError("ENVIRONMENT=production requires a PostgreSQL DATABASE_URL")
        if "issuer" not in self.model_fields_set:
            raise ValueError("ENVIRONMENT=production requires ISSUER (the URL the gateway trusts)")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
