"""Gateway credentials: list, create (secret shown once), revoke."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.auth.dependencies import AdminRead, AdminWrite
from app.db.session import SessionDep
from app.http import forbid_caching
from app.introspection_clients.models import IntrospectionClient
from app.introspection_clients.schemas import (
    IntrospectionClientCreate,
    IntrospectionClientCreated,
    IntrospectionClientOut,
)
from app.introspection_clients.service import introspection_client_service
from app.schemas import Page, PageDep

router = APIRouter(prefix="/introspection-clients", tags=["introspection clients"])


def render(client: IntrospectionClient) -> IntrospectionClientOut:
    return IntrospectionClientOut(
        client_id=client.id,
        name=client.name,
        created_at=client.created_at,
        revoked_at=client.revoked_at,
        active=client.revoked_at is None,
    )


@router.get("", response_model=Page[IntrospectionClientOut])
async def list_introspection_clients(
    session: SessionDep, _: AdminRead, page: PageDep
) -> Page[IntrospectionClientOut]:
    """List the gateways' introspection credentials (never their secrets)."""
    clients, total = await introspection_client_service.list_clients(
        session, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[render(c) for c in clients], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IntrospectionClientCreated)
async def create_introspection_client(
    session: SessionDep, principal: AdminWrite, body: IntrospectionClientCreate, response: Response
) -> IntrospectionClientCreated:
    """Create gateway credentials. The secret is in this response only."""
    created = await introspection_client_service.create(
        session, name=body.name, actor=principal.actor
    )
    forbid_caching(response)
    return IntrospectionClientCreated(
        client_id=created.client.id, client_secret=created.secret, name=created.client.name
    )


@router.post("/{client_id}/revoke", response_model=IntrospectionClientOut)
async def revoke_introspection_client(
    session: SessionDep, principal: AdminWrite, client_id: uuid.UUID
) -> IntrospectionClientOut:
    """Revoke gateway credentials; they stop working at once."""
    return render(
        await introspection_client_service.revoke(session, client_id, actor=principal.actor)
    )
