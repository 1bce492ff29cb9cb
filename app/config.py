"""Service settings, read once from the environment (prefix-free, `.env` supported).

Fails fast: a bad value stops the process at start-up with a clear message instead of
surfacing later as a 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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


@dataclass(frozen=True)
class ConnectionBudget:
    """The PostgreSQL connections one process (one worker of ``serve``) may hold at most.

    ``management`` is the SQLAlchemy pool (no overflow), ``introspection`` the raw slots of
    the hot path, ``listen`` the invalidation listener's own connection. See the README's
    "Connection budget".
    """

    management: int
    introspection: int
    listen: int

    @property
    def total(self) -> int:
        return self.management + self.introspection + self.listen


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default_factory=default_database_url)
    # The per-process cap on PostgreSQL connections, split between the management pool,
    # the introspection slots and LISTEN (see ``connection_budget`` and the README).
    database_max_connections: int = Field(default=10, ge=3, le=1000)
    database_pool_size: int | None = Field(default=None, ge=1, le=1000)  # None: from the cap
    database_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # LISTEN needs a session of its own: a direct URL when DATABASE_URL goes through PgBouncer.
    database_listen_url: str | None = None
    # DATABASE_URL is a PgBouncer in transaction pooling mode: no prepared statement outlives
    # its transaction.
    database_pgbouncer: bool = False
    issuer: str = "http://127.0.0.1:8000"
    session_ttl_seconds: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # NoDecode: a plain comma-separated list is accepted as well as JSON (see the validator).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    last_used_flush_seconds: float = Field(default=60.0, gt=0, le=3600)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"] = (
        "INFO"
    )
    log_format: Literal["json", "console"] | None = None  # None: json in production
    access_log: bool = True
    debug: bool = False
    introspection_cache_size: int = Field(default=100_000, ge=0, le=10_000_000)
    introspection_cache_ttl_seconds: float = Field(default=60.0, gt=0, le=3600)
    introspection_pool_size: int | None = Field(default=None, ge=1, le=1000)  # None: from the cap
    # Failed authentications before 429 (logins: per 15 minutes; introspection clients:
    # per minute). See the README's "Security model".
    login_failures_per_username: int = Field(default=10, ge=1, le=10_000)
    login_failures_per_address: int = Field(default=30, ge=1, le=1_000_000)
    client_auth_failures_per_address: int = Field(default=20, ge=1, le=1_000_000)
    # The HTTP server of `serve` (app/server.py), per process. See the README's "Configuration".
    http_head_timeout_seconds: float = Field(default=10.0, ge=0.1, le=300)
    http_body_timeout_seconds: float = Field(default=30.0, ge=0.1, le=600)
    http_keep_alive_seconds: float = Field(default=75.0, ge=0.1, le=3600)
    http_max_connections: int = Field(default=1000, ge=1, le=100_000)
    # Notification emails (app/notifications). No SMTP_HOST: logged in development, else queued.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    mail_from: str = "Global Integrations <integrations@localhost>"
    notification_poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    notification_scan_seconds: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
    # TLS for `serve` itself (e.g. for mod_auth_openidc, which refuses plain-http introspection).
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins_list(cls, value: Any) -> Any:
        """``["https://a", "https://b"]`` (JSON) or ``https://a,https://b``."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(
                    'must be a JSON list (["https://a"]) or comma-separated origins'
                ) from None
        return [origin.strip() for origin in text.split(",") if origin.strip()]

    @model_validator(mode="after")
    def _tls_files(self) -> Settings:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("SSL_CERTFILE and SSL_KEYFILE must be set together")
        for name, path in (("SSL_CERTFILE", self.ssl_certfile), ("SSL_KEYFILE", self.ssl_keyfile)):
            if path is not None and not path.is_file():
                raise ValueError(f"{name}: no such file: {path}")
        return self

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        url = normalise_database_url(value.strip())
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return url

    @field_validator("database_listen_url")
    @classmethod
    def _normalise_listen_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = normalise_database_url(value.strip())
        if not url.startswith("postgresql+asyncpg://"):
            raise ValueError("DATABASE_LISTEN_URL must be a postgresql:// URL")
        return url

    @model_validator(mode="after")
    def _connections_fit_the_cap(self) -> Settings:
        if self.is_sqlite:
            if self.database_pgbouncer or self.database_listen_url:
                raise ValueError(
                    "DATABASE_PGBOUNCER and DATABASE_LISTEN_URL need a PostgreSQL DATABASE_URL"
                )
            return self
        if self.database_pgbouncer and self.database_listen_url is None:
            raise ValueError(
                "DATABASE_PGBOUNCER=true requires DATABASE_LISTEN_URL, a direct (not pooled) "
                "PostgreSQL URL for LISTEN"
            )
        budget = self.connection_budget
        too_small = budget.management < 1 or budget.introspection < 1
        if too_small or budget.total > self.database_max_connections:
            raise ValueError(
                f"DATABASE_MAX_CONNECTIONS={self.database_max_connections} is too small for "
                f"DATABASE_POOL_SIZE={budget.management} + INTROSPECTION_POOL_SIZE="
                f"{budget.introspection} + 1 LISTEN connection; raise it or lower the pools"
            )
        return self

    @model_validator(mode="after")
    def _smtp_credentials_in_pairs(self) -> Settings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD must be set together")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment != "production":
            return self
        if self.is_sqlite:
            raise ValueError("ENVIRONMENT=production requires a PostgreSQL DATABASE_URL")
        if "issuer" not in self.model_fields_set:
            raise ValueError("ENVIRONMENT=production requires ISSUER (the URL the gateway trusts)")
        if self.debug:
            raise ValueError("DEBUG must be off in production: it shows tracebacks to callers")
        return self

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" or (
            self.log_format is None and self.environment == "production"
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def listen_url(self) -> str:
        """Where the invalidation listener connects: DATABASE_LISTEN_URL, else DATABASE_URL."""
        return self.database_listen_url or self.database_url

    @property
    def connection_budget(self) -> ConnectionBudget:
        """Split DATABASE_MAX_CONNECTIONS: 1 for LISTEN, the rest between the two pools.

        A pool size left unset takes what the other leaves (both unset: introspection gets
        the smaller half, ``(cap - 1) // 2``). On SQLite the numbers are not used.
        """
        spare = self.database_max_connections - 1
        introspection = self.introspection_pool_size
        management = self.database_pool_size
        if introspection is None:
            introspection = spare // 2 if management is None else spare - management
        if management is None:
            management = spare - introspection
        return ConnectionBudget(management=management, introspection=introspection, listen=1)


@lru_cache
def get_settings() -> Settings:
    return Settings()
