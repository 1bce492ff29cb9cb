"""Integrations: the business rules of create, update, (de)activate and delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import AuditAction, audit_service
from app.db.base import utc_now
from app.db.repository import KeysetPage
from app.errors import Conflict
from app.integrations.models import Integration
from app.integrations.repository import IntegrationRepository
from app.integrations.schemas import (
    IntegrationCreate,
    IntegrationSort,
    IntegrationUpdate,
    TokenCounts,
)
from app.introspection.invalidation import announce, integration_key
from app.notifications.facts import IntegrationFacts
from app.notifications.service import notification_service
from app.tokens.service import token_service


@dataclass(frozen=True)
class IntegrationView:
    integration: Integration
    token_counts: TokenCounts


class IntegrationService:
    async def get_live(
        self, session: AsyncSession, integration_id: uuid.UUID, *, for_update: bool = False
    ) -> Integration:
        """The integration unless it is deleted; 404 otherwise."""
        return await IntegrationRepository(session).get_by_id_or_raise(
            integration_id,
            for_update=for_update,
            not_found=f"No integration with id {integration_id}.",
        )

    async def view(self, session: AsyncSession, integration_id: uuid.UUID) -> IntegrationView:
        return (await self._views(session, [await self.get_live(session, integration_id)]))[0]

    async def list_integrations(
        self,
        session: AsyncSession,
        *,
        q: str | None,
        active: bool | None,
        sort: IntegrationSort,
        limit: int,
        offset: int,
        after: tuple[Any, ...] | None = None,
    ) -> KeysetPage[IntegrationView]:
        page = await IntegrationRepository(session).list(
            q=q, active=active, sort=sort, limit=limit, offset=offset, after=after
        )
        return KeysetPage(
            await self._views(session, page.items), page.total, page.total_exact, page.next_after
        )

    async def create(
        self, session: AsyncSession, data: IntegrationCreate, *, actor: str
    ) -> IntegrationView:
        repository = IntegrationRepository(session)
        name_key = data.name.casefold()
        if await repository.name_taken(name_key):
            raise Conflict(f"An integration named {data.name!r} already exists.")
        integration = await repository.create(
            Integration(
                name=data.name,
                name_key=name_key,
                description=data.description,
                notification_email=str(data.notification_email),
                active=data.active,
            )
        )
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.INTEGRATION_CREATED,
            integration_id=integration.id,
            details={"name": integration.name, "active": integration.active},
        )
        return IntegrationView(integration, TokenCounts())

    async def update(
        self,
        session: AsyncSession,
        integration_id: uuid.UUID,
        data: IntegrationUpdate,
        *,
        actor: str,
    ) -> IntegrationView:
        repository = IntegrationRepository(session)
        integration = await self.get_live(session, integration_id, for_update=True)
        changes = {
            field: value
            for field, value in data.model_dump(exclude_unset=True, mode="json").items()
            if getattr(integration, field) != value
        }
        if "name" in changes:
            name_key = changes["name"].casefold()
            if await repository.name_taken(name_key, exclude_id=integration.id):
                raise Conflict(f"An integration named {changes['name']!r} already exists.")
            changes["name_key"] = name_key
        if changes:
            await repository.update(integration, {**changes, "updated_at": utc_now()})
            # Any change alters what introspection answers (active flag or integration_name).
            await announce(session, [integration_key(integration.id)])
            await self._audit_update(session, integration, changes, actor=actor)
            if "active" in changes:
                await notification_service.integration_active_changed(
                    session, IntegrationFacts.of(integration), actor=actor
                )
        return await self.view(session, integration.id)

    async def _audit_update(
        self,
        session: AsyncSession,
        integration: Integration,
        changes: dict[str, object],
        *,
        actor: str,
    ) -> None:
        if "active" in changes:
            action = (
                AuditAction.INTEGRATION_ACTIVATED
                if changes["active"]
                else AuditAction.INTEGRATION_DEACTIVATED
            )
            await audit_service.record(
                session, actor=actor, action=action, integration_id=integration.id
            )
        other_fields = sorted(set(changes) - {"active", "name_key"})
        if other_fields:
            await audit_service.record(
                session,
                actor=actor,
                action=AuditAction.INTEGRATION_UPDATED,
                integration_id=integration.id,
                details={"fields": other_fields},
            )

    async def delete(self, session: AsyncSession, integration_id: uuid.UUID, *, actor: str) -> None:
        integration = await self.get_live(session, integration_id, for_update=True)
        now = utc_now()
        revoked_count = await token_service.revoke_all_of_deleted_integration(
            session, integration.id, now=now
        )
        await IntegrationRepository(session).update(
            integration, {"deleted_at": now, "updated_at": now}
        )
        await announce(session, [integration_key(integration.id)])
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.INTEGRATION_DELETED,
            integration_id=integration.id,
            details={"name": integration.name, "revoked_tokens": revoked_count},
        )
        await notification_service.integration_deleted(
            session, IntegrationFacts.of(integration), revoked_tokens=revoked_count, actor=actor
        )

    async def _views(
        self, session: AsyncSession, integrations: Sequence[Integration]
    ) -> list[IntegrationView]:
        counts = await token_service.counts_by_status(session, integrations)
        return [
            IntegrationView(i, TokenCounts(**c._asdict()))
            for i, c in zip(integrations, counts, strict=True)
        ]


integration_service = IntegrationService()
