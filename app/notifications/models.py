from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, utc_now


class OutboxMessage(UUIDPrimaryKey, Base):
    """One notification email, written in the transaction of the change that causes it.

    The sender delivers it and sets ``sent_at``; until then it is pending. ``integration_id``
    has no foreign key: like the audit trail, a notice outlives what it describes.
    ``dedupe_key`` (unique) makes periodic notices such as expiry warnings idempotent.
    ``last_error`` holds an exception's class name only, never a message that could hold data.
    """

    __tablename__ = "outbox_messages"

    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    integration_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)

    __table_args__ = (
        # What the sender asks for: pending messages that are due, oldest first.
        Index(
            "ix_outbox_messages_pending",
            "next_attempt_at",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
        Index("ix_outbox_messages_integration_created", "integration_id", "created_at"),
    )
