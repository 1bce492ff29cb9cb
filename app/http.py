"""Small HTTP helpers shared by the endpoint modules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from app.state import AppState, app_state

NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def forbid_caching(response: Response) -> None:
    """For every response that carries a secret."""
    response.headers.update(NO_STORE_HEADERS)


def _request_app_state(request: Request) -> AppState:
    return app_state(request.app)


AppStateDep = Annotated[AppState, Depends(_request_app_state)]
