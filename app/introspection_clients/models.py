from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, utc_now


class IntrospectionClient(UUIDPrimaryKey, Base):
    """A machine caller (the Global API gateway) allowed to introspect tokens."""

    __tablename__ = "introspection_clients"

    name: Mapped[str] = mapped_column(String(200))
    secret_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
