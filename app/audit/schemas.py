from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.schemas import Schema


class AuditEventOut(Schema):
    id: uuid.UUID
    at: datetime
    actor: str
    action: str
    integration_id: uuid.UUID | None
    token_id: uuid.UUID | None
    details: dict[str, Any]
