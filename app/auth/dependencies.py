"""Annotated dependencies that read as sentences: ``_: AdminWrite``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from app.auth.models import Role
from app.auth.service import Principal, auth_service
from app.db.session import SessionDep
from app.errors import Forbidden, Unauthorized

# auto_error=False: we raise our own problem+json 401 instead of FastAPI's.
_bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description=(
        "Operators: sign in with your admin username and password (leave client_id and "
        "client_secret empty; there are no scopes). The session token is sent as a Bearer."
    ),
)


async def current_admin(
    session: SessionDep, bearer: Annotated[str | None, Depends(_bearer)]
) -> Principal:
    if not bearer or len(bearer) > 512:
        raise Unauthorized()
    principal = await auth_service.resolve(session, bearer)
    if principal is None:
        raise Unauthorized("The session is invalid or has expired.")
    return principal


async def admin_with_write_access(
    principal: Annotated[Principal, Depends(current_admin)],
) -> Principal:
    if principal.role != Role.ADMIN:
        raise Forbidden("This action needs the admin role; viewers may only read.")
    return principal


AdminRead = Annotated[Principal, Depends(current_admin)]
AdminWrite = Annotated[Principal, Depends(admin_with_write_access)]
