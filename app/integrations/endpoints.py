from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import AdminRead, AdminWrite
from app.db.session import SessionDep
from app.integrations.schemas import (
    IntegrationCreate,
    IntegrationOut,
    IntegrationSort,
    IntegrationUpdate,
)
from app.integrations.service import IntegrationView, integration_service
from app.schemas import NO_NUL, Keyset, Page, PageDep

router = APIRouter(prefix="/integrations", tags=["integrations"])

# A cursor belongs to one sort: its key is (name or creation time, id).
KEYSETS = {
    sort: Keyset(
        f"integrations{sort.value}" if sort.value.startswith("-") else f"integrations+{sort.value}",
        [str if "name" in sort.value else datetime, uuid.UUID],
    )
    for sort in IntegrationSort
}


def render(view: IntegrationView) -> IntegrationOut:
    integration = view.integration
    return IntegrationOut(
        id=integration.id,
        name=integration.name,
        description=integration.description,
        notification_email=integration.notification_email,
        active=integration.active,
        created_at=integration.created_at,
        updated_at=integration.updated_at,
        token_counts=view.token_counts,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IntegrationOut)
async def create_integration(
    session: SessionDep, principal: AdminWrite, body: IntegrationCreate
) -> IntegrationOut:
    """Create a custom global integration."""
    return render(await integration_service.create(session, body, actor=principal.actor))


@router.get("", response_model=Page[IntegrationOut])
async def list_integrations(
    session: SessionDep,
    _: AdminRead,
    page: PageDep,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL, description="Name contains (case-insensitive)"),
    ] = None,
    active: bool | None = None,
    sort: IntegrationSort = IntegrationSort.CREATED_AT_DESC,
) -> Page[IntegrationOut]:
    """List integrations (deleted ones are hidden); `cursor` pages deep in any sort."""
    keyset = KEYSETS[sort]
    result = await integration_service.list_integrations(
        session,
        q=q,
        active=active,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        after=keyset.decode(page.cursor),
    )
    return keyset.page(result, [render(v) for v in result.items], page)


@router.get("/{integration_id}", response_model=IntegrationOut)
async def get_integration(
    session: SessionDep, _: AdminRead, integration_id: uuid.UUID
) -> IntegrationOut:
    """Get one integration."""
    return render(await integration_service.view(session, integration_id))


@router.patch("/{integration_id}", response_model=IntegrationOut)
async def update_integration(
    session: SessionDep, principal: AdminWrite, integration_id: uuid.UUID, body: IntegrationUpdate
) -> IntegrationOut:
    """Change name, description, notification email or the active flag."""
    return render(
        await integration_service.update(session, integration_id, body, actor=principal.actor)
    )


@router.delete("/{integration_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_integration(
    session: SessionDep, principal: AdminWrite, integration_id: uuid.UUID
) -> Response:
    """Delete an integration: its tokens are revoked first; the audit trail stays."""
    await integration_service.delete(session, integration_id, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
