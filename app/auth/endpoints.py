from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status
from fastapi.responses import JSONResponse

from app.auth.dependencies import AdminRead
from app.auth.schemas import MeOut, TokenResponse
from app.auth.service import auth_service
from app.db.session import SessionDep
from app.errors import TooManyRequests, Unauthorized
from app.http import AppStateDep, forbid_caching
from app.problems import documented_problem
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
    responses={
        401: documented_problem("Wrong username or password", **{"WWW-Authenticate": "Bearer"}),
        429: documented_problem(
            "Too many failed logins for this username or from this address; the password "
            "was not checked",
            **{"Retry-After": "Seconds until a login may be tried again"},
        ),
    },
)
async def login(
    request: Request, session: SessionDep, state: AppStateDep, form: Annotated[LoginForm, Depends()]
) -> JSONResponse:
    """Log in with username and password; returns a bearer session token.

    Repeated failures for one username, or from one client address, are throttled: 429
    with Retry-After, whether or not the password would have been right.
    """
    ttl = timedelta(seconds=state.settings.session_ttl_seconds)
    outcome = await auth_service.login(
        session,
        state.login_throttle,
        username=form.username,
        password=form.password,
        address=request.client.host if request.client else "unknown",
        ttl=ttl,
    )
    # keep_changes: the audit record of the refusal commits with it.
    if outcome.retry_after:
        raise TooManyRequests(
            "Too many failed logins; try again later.",
            retry_after=outcome.retry_after,
            keep_changes=True,
        )
    if outcome.issued is None:
        raise Unauthorized("Wrong username or password.", keep_changes=True)
    response = JSONResponse(
        TokenResponse(
            access_token=outcome.issued.secret, expires_in=int(ttl.total_seconds())
        ).model_dump()
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
