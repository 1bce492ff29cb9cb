from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import AdminWrite
from app.db.session import SessionDep
from app.leaks.schemas import LeakReport, LeakResult
from app.leaks.service import leak_service

router = APIRouter(prefix="/leaked-tokens", tags=["leaked tokens"])


@router.post("", response_model=LeakResult)
async def report_leaked_tokens(
    session: SessionDep, principal: AdminWrite, body: LeakReport
) -> LeakResult:
    """Revoke leaked secrets at once (up to 1000 per call) and notify their integrations.

    Every secret that is one of our active tokens is revoked with reason `leaked`; the
    answer holds counts only and never says which integration a secret belonged to.
    """
    return await leak_service.report(session, body.secrets, actor=principal.actor)
