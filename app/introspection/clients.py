"""Introspection clients: the gateways' credentials (secret stored as a SHA-256 digest)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import token_format
from app.audit.service import AuditAction, audit_service
from app.db.base import utc_now
from app.db.repository import Repository
from app.errors import NotFound
from app.introspection.invalidation import announce, client_key
from app.introspection.models import IntrospectionClient


@dataclass(frozen=True)
class CreatedClient:
    client: IntrospectionClient
    secret: str


class IntrospectionClientRepository(Repository[IntrospectionClient]):
    model = IntrospectionClient

    async def list_clients(
        self, *, limit: int, offset: int
    ) -> tuple[Sequence[IntrospectionClient], int]:
        statement = select(IntrospectionClient).order_by(
            IntrospectionClient.created_at.desc(), IntrospectionClient.id.desc()
        )
        return await self.paginate(statement, limit=limit, offset=offset)


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
        client = await repository.get_by_id(client_id, for_update=True)
        if client is None:
            raise NotFound(f"No introspection client with id {client_id}.")
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
