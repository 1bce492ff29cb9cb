from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.audit.schemas import AuditEventOut
from app.audit.service import audit_service
from app.auth.dependencies import AdminRead
from app.db.session import SessionDep
from app.schemas import NO_NUL, Keyset, Page, PageDep

router = APIRouter(prefix="/audit-events", tags=["audit"])

AUDIT_KEYSET = Keyset("audit-events", [datetime, uuid.UUID])


@router.get("", response_model=Page[AuditEventOut])
async def list_audit_events(
    session: SessionDep,
    _: AdminRead,
    page: PageDep,
    integration_id: uuid.UUID | None = None,
    token_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
) -> Page[AuditEventOut]:
    """List audit events, newest first (`cursor` pages deep at the cost of one page)."""
    result = await audit_service.list_events(
        session,
        integration_id=integration_id,
        token_id=token_id,
        action=action,
        limit=page.limit,
        offset=page.offset,
        after=AUDIT_KEYSET.decode(page.cursor),
    )
    return AUDIT_KEYSET.page(result, [AuditEventOut.model_validate(e) for e in result.items], page)
