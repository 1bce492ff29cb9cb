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
    created_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        # A deleted integration frees its name.
        Index(
            "uq_integrations_live_name_key",
            "name_key",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
    )
