from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status
from fastapi.responses import JSONResponse

from app.auth.dependencies import AdminRead
from app.auth.schemas import MeOut, TokenResponse
from app.auth.service import auth_service
from app.db.session import SessionDep
from app.errors import Unauthorized, render
from app.http import forbid_caching
from app.schemas import NO_NUL

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginForm:
    """The OAuth2 password form, with lengths bounded (Swagger's Authorize uses it)."""

    def __init__(
        self,
        username: Annotated[str, Form(min_length=1, max_length=150, pattern=NO_NUL)],
        password: Annotated[str, Form(min_length=1, max_length=1024, pattern=NO_NUL)],
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        scope: Annotated[str, Form(max_length=1024)] = "",
    ) -> None:
        self.username = username
        self.password = password


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={401: {"description": "Wrong username or password"}},
)
async def login(
    request: Request, session: SessionDep, form: Annotated[LoginForm, Depends()]
) -> TokenResponse | JSONResponse:
    """Log in with username and password; returns a bearer session token."""
    ttl = timedelta(seconds=request.app.state.settings.session_ttl_seconds)
    issued = await auth_service.login(
        session, username=form.username, password=form.password, ttl=ttl
    )
    if issued is None:
        # Returned, not raised, so the failed-login audit event is committed.
        return render(Unauthorized("Wrong username or password."))
    response = JSONResponse(
        TokenResponse(access_token=issued.secret, expires_in=int(ttl.total_seconds())).model_dump()
    )
    forbid_caching(response)
    return response


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(session: SessionDep, principal: AdminRead) -> Response:
    """End the calling session; its bearer token stops working."""
    await auth_service.logout(session, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=MeOut)
async def me(principal: AdminRead) -> MeOut:
    """Who is calling, and with which role."""
    return MeOut(username=principal.username, role=principal.role)
