from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, utc_now


class Integration(UUIDPrimaryKey, Base):
    __tablename__ = "integrations"

    name: Mapped[str] = mapped_column(String(200))
    # casefold() of the name: case-insensitive uniqueness and search that behave the
    # same on SQLite (whose lower() is ASCII-only) and PostgreSQL.
    name_key: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    notification_email: Mapped[str] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    # Counters kept in the same transaction as every issue and revoke (the token service
    # owns that rule), so token_counts never counts an integration's tokens one by one:
    # active = token_count - revoked_token_count - (unrevoked and expired, counted on a
    # narrow partial index).
    token_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    revoked_token_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    __table_args__ = (
        # A deleted integration frees its name.
        Index(
            "uq_integrations_live_name_key",
            "name_key",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        # The list's sort orders, with the id as tie-break (keyset pagination).
        Index(
            "ix_integrations_live_created",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_integrations_live_active",
            "active",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_integrations_live_name",
            "name_key",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        # ``q`` (name contains): a trigram index on PostgreSQL; a plain one on SQLite.
        Index(
            "ix_integrations_name_trgm",
            "name_key",
            postgresql_using="gin",
            postgresql_ops={"name_key": "gin_trgm_ops"},
        ),
    )
