from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UUIDPrimaryKey, utc_now


class AuditEvent(UUIDPrimaryKey, Base):
    """An append-only record of who did what. Holds ids and names, never a secret.

    ``integration_id`` and ``token_id`` carry no foreign key on purpose: the trail must
    outlive whatever it describes.
    """

    __tablename__ = "audit_events"

    at: Mapped[datetime] = mapped_column(default=utc_now)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    integration_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    token_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Newest first with the id as tie-break (a set-based revoke writes many events with
    # the same ``at``): every filter reads one index in order, and pages by keyset.
    __table_args__ = (
        Index("ix_audit_events_at", "at", "id"),
        Index("ix_audit_events_integration_at", "integration_id", "at", "id"),
        Index("ix_audit_events_token_at", "token_id", "at", "id"),
        Index("ix_audit_events_action_at", "action", "at", "id"),
    )
