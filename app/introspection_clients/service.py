"""Introspection clients: the gateways' credentials (secret stored as a SHA-256 digest)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app import token_format
from app.audit.service import AuditAction, audit_service
from app.db.base import utc_now
from app.introspection.invalidation import announce, client_key
from app.introspection_clients.models import IntrospectionClient
from app.introspection_clients.repository import IntrospectionClientRepository


@dataclass(frozen=True)
class CreatedClient:
    client: IntrospectionClient
    secret: str


class IntrospectionClientService:
    async def create(self, session: AsyncSession, *, name: str, actor: str) -> CreatedClient:
        secret = token_format.generate(token_format.CLIENT_SECRET_PREFIX)
        client = await IntrospectionClientRepository(session).create(
            IntrospectionClient(name=name, secret_digest=token_format.digest(secret))
        )
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.INTROSPECTION_CLIENT_CREATED,
            details={"client_id": str(client.id), "name": name},
        )
        return CreatedClient(client=client, secret=secret)

    async def list_clients(
        self, session: AsyncSession, *, limit: int, offset: int
    ) -> tuple[Sequence[IntrospectionClient], int]:
        return await IntrospectionClientRepository(session).list_clients(limit=limit, offset=offset)

    async def revoke(
        self, session: AsyncSession, client_id: uuid.UUID, *, actor: str
    ) -> IntrospectionClient:
        repository = IntrospectionClientRepository(session)
        client = await repository.get_by_id_or_raise(
            client_id,
            for_update=True,
            not_found=f"No introspection client with id {client_id}.",
        )
        if client.revoked_at is None:
            await repository.update(client, {"revoked_at": utc_now()})
            await announce(session, [client_key(client.id)])
            await audit_service.record(
                session,
                actor=actor,
                action=AuditAction.INTROSPECTION_CLIENT_REVOKED,
                details={"client_id": str(client.id), "name": client.name},
            )
        return client


introspection_client_service = IntrospectionClientService()
