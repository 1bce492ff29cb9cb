from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, NoReturn

from fastapi import APIRouter, Body, Query, Response, status
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth.dependencies import AdminRead, AdminWrite
from app.db.base import utc_now
from app.db.session import SessionDep
from app.http import forbid_caching
from app.schemas import NO_NUL, Keyset, Page, PageDep
from app.tokens.models import AccessToken, TokenStatus
from app.tokens.schemas import (
    IssuedTokenOut,
    LeakReport,
    LeakResult,
    MassRevoke,
    MassRevokeResult,
    TokenIssue,
    TokenOut,
    TokenRegenerate,
)
from app.tokens.service import IssuedToken, token_service

router = APIRouter(prefix="/integrations/{integration_id}/tokens", tags=["tokens"])
leaked_router = APIRouter(prefix="/leaked-tokens", tags=["leaked tokens"])

TOKENS_KEYSET = Keyset("tokens", [datetime, uuid.UUID])


def render(token: AccessToken) -> TokenOut:
    return TokenOut.model_validate(
        {
            **{c: getattr(token, c) for c in TokenOut.model_fields if c != "status"},
            "status": token.status_at(utc_now()),
        }
    )


def render_issued(issued: IssuedToken, response: Response) -> IssuedTokenOut:
    forbid_caching(response)
    return IssuedTokenOut(token=render(issued.token), secret=issued.secret)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IssuedTokenOut)
async def issue_token(
    session: SessionDep,
    principal: AdminWrite,
    integration_id: uuid.UUID,
    body: TokenIssue,
    response: Response,
) -> IssuedTokenOut:
    """Issue a token. The secret is in this response only."""
    issued = await token_service.issue(session, integration_id, body, actor=principal.actor)
    return render_issued(issued, response)


@router.get("", response_model=Page[TokenOut])
async def list_tokens(
    session: SessionDep,
    _: AdminRead,
    integration_id: uuid.UUID,
    page: PageDep,
    status: TokenStatus | None = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL, description="Name contains (case-insensitive)"),
    ] = None,
) -> Page[TokenOut]:
    """List an integration's tokens, newest first; `cursor` pages deep at one page's cost."""
    result = await token_service.list_tokens(
        session,
        integration_id,
        status=status,
        q=q,
        limit=page.limit,
        offset=page.offset,
        after=TOKENS_KEYSET.decode(page.cursor),
    )
    return TOKENS_KEYSET.page(result, [render(t) for t in result.items], page)


@router.post("/revoke", response_model=MassRevokeResult)
async def mass_revoke_tokens(
    session: SessionDep, principal: AdminWrite, integration_id: uuid.UUID, body: MassRevoke
) -> MassRevokeResult:
    """Revoke many tokens (or all) in one all-or-nothing transaction.

    With `"all": true` the work is set-based however many tokens there are; the lists name
    the oldest 1000 each, the counts are complete, and `truncated` says when a list is cut.
    """
    return await token_service.mass_revoke(session, integration_id, body, actor=principal.actor)


@router.get("/revoke", include_in_schema=False, response_model=None)
async def mass_revoke_wrong_method() -> NoReturn:
    # Otherwise GET .../tokens/revoke would reach get_token with the token id "revoke"
    # and answer 422; it is a 405 (with ``Allow: POST``), like any other wrong method.
    raise StarletteHTTPException(status.HTTP_405_METHOD_NOT_ALLOWED)


@router.get("/{token_id}", response_model=TokenOut)
async def get_token(
    session: SessionDep, _: AdminRead, integration_id: uuid.UUID, token_id: uuid.UUID
) -> TokenOut:
    """Get one token (never its secret)."""
    return render(await token_service.get(session, integration_id, token_id))


@router.post("/{token_id}/revoke", response_model=TokenOut)
async def revoke_token(
    session: SessionDep, principal: AdminWrite, integration_id: uuid.UUID, token_id: uuid.UUID
) -> TokenOut:
    """Revoke a token; revoking an inactive token is not an error."""
    return render(
        await token_service.revoke(session, integration_id, token_id, actor=principal.actor)
    )


@router.post(
    "/{token_id}/regenerate", status_code=status.HTTP_201_CREATED, response_model=IssuedTokenOut
)
async def regenerate_token(
    session: SessionDep,
    principal: AdminWrite,
    integration_id: uuid.UUID,
    token_id: uuid.UUID,
    response: Response,
    body: Annotated[TokenRegenerate | None, Body()] = None,
) -> IssuedTokenOut:
    """Replace a token: the old one is revoked at once, the new secret is shown once."""
    issued = await token_service.regenerate(
        session, integration_id, token_id, body, actor=principal.actor
    )
    return render_issued(issued, response)


@leaked_router.post("", response_model=LeakResult)
async def report_leaked_tokens(
    session: SessionDep, principal: AdminWrite, body: LeakReport
) -> LeakResult:
    """Revoke leaked secrets at once (up to 1000 per call) and notify their integrations.

    Every secret that is one of our active tokens is revoked with reason `leaked`; the
    answer holds counts only and never says which integration a secret belonged to.
    """
    return await token_service.revoke_leaked(session, body.secrets, actor=principal.actor)
