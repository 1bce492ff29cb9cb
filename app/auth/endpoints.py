from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status
from fastapi.responses import JSONResponse

from app.auth.dependencies import AdminRead
from app.auth.schemas import MeOut, TokenResponse
from app.auth.service import auth_service, normalise_username
from app.auth.throttle import login_throttle
from app.db.session import SessionDep
from app.errors import TooManyRequests, Unauthorized, documented_problem, render
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
    request: Request, session: SessionDep, form: Annotated[LoginForm, Depends()]
) -> TokenResponse | JSONResponse:
    """Log in with username and password; returns a bearer session token.

    Repeated failures for one username, or from one client address, are throttled: 429
    with Retry-After, whether or not the password would have been right.
    """
    ttl = timedelta(seconds=request.app.state.settings.session_ttl_seconds)
    throttle = login_throttle(request.app)
    username = normalise_username(form.username)
    address = request.client.host if request.client else "unknown"
    retry_after = throttle.retry_after(username, address)
    if retry_after:
        # Returned, not raised, so that the audit event is committed.
        await auth_service.record_throttled_login(session, username=username)
        return render(
            TooManyRequests("Too many failed logins; try again later.", retry_after=retry_after)
        )
    throttle.attempt(username, address)
    try:
        issued = await auth_service.login(
            session, username=form.username, password=form.password, ttl=ttl
        )
    except BaseException:
        throttle.abandoned(username, address)
        raise
    if issued is None:
        # Returned, not raised, so the failed-login audit event is committed.
        return render(Unauthorized("Wrong username or password."))
    throttle.succeeded(username, address)
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
