from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.audit.schemas import AuditEventOut
from app.audit.service import audit_service
from app.auth.dependencies import AdminRead
from app.db.session import SessionDep
from app.schemas import NO_NUL, Page, PageDep

router = APIRouter(prefix="/audit-events", tags=["audit"])


@router.get("", response_model=Page[AuditEventOut])
async def list_audit_events(
    session: SessionDep,
    _: AdminRead,
    page: PageDep,
    integration_id: uuid.UUID | None = None,
    token_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
) -> Page[AuditEventOut]:
    """List audit events, newest first."""
    events, total = await audit_service.list_events(
        session,
        integration_id=integration_id,
        token_id=token_id,
        action=action,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[AuditEventOut.model_validate(e) for e in events],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
