"""The audit trail: every service records what it changed through ``record``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app import token_format
from app.audit.models import AuditEvent
from app.audit.repository import AuditRepository
from app.db.base import utc_now
from app.db.repository import KeysetPage


class AuditAction:
    INTEGRATION_CREATED = "integration.created"
    INTEGRATION_UPDATED = "integration.updated"
    INTEGRATION_DEACTIVATED = "integration.deactivated"
    INTEGRATION_ACTIVATED = "integration.activated"
    INTEGRATION_DELETED = "integration.deleted"
    TOKEN_ISSUED = "token.issued"
    TOKEN_REVOKED = "token.revoked"
    TOKEN_REGENERATED = "token.regenerated"
    LEAKED_TOKENS_REPORTED = "leaked_tokens.reported"
    INTROSPECTION_CLIENT_CREATED = "introspection_client.created"
    INTROSPECTION_CLIENT_REVOKED = "introspection_client.revoked"
    ADMIN_CREATED = "admin.created"
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOGIN_THROTTLED = "auth.login_throttled"  # a summary of unrecorded refusals
    AUTH_PASSWORD_RESET = "auth.password_reset"
    AUTH_LOGOUT = "auth.logout"


class AuditService:
    async def record(
        self,
        session: AsyncSession,
        *,
        actor: str,
        action: str,
        integration_id: uuid.UUID | None = None,
        token_id: uuid.UUID | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        AuditRepository(session).add(
            AuditEvent(
                actor=token_format.redact(actor),
                action=action,
                integration_id=integration_id,
                token_id=token_id,
                details=_redacted(details or {}),
            )
        )

    async def record_many(
        self,
        session: AsyncSession,
        *,
        actor: str,
        action: str,
        events: Sequence[tuple[uuid.UUID | None, uuid.UUID | None, dict[str, Any]]],
    ) -> None:
        """Many events of one action, as (integration_id, token_id, details), in bulk."""
        at = utc_now()
        await AuditRepository(session).insert_many(
            [
                {
                    "id": uuid.uuid4(),
                    "at": at,
                    "actor": actor,
                    "action": action,
                    "integration_id": integration_id,
                    "token_id": token_id,
                    "details": details,
                }
                for integration_id, token_id, details in events
            ]
        )

    async def record_each(
        self,
        session: AsyncSession,
        source: Select[Any],
        *,
        actor: str,
        action: str,
        detail_columns: Sequence[str],
        static_details: dict[str, str | bool],
    ) -> None:
        """One event per row of ``source`` (see ``AuditRepository.insert_each``), set-based."""
        await AuditRepository(session).insert_each(
            source,
            at=utc_now(),
            actor=actor,
            action=action,
            detail_columns=detail_columns,
            static_details=static_details,
        )

    async def list_events(
        self,
        session: AsyncSession,
        *,
        integration_id: uuid.UUID | None = None,
        token_id: uuid.UUID | None = None,
        action: str | None = None,
        limit: int,
        offset: int,
        after: tuple[Any, ...] | None = None,
    ) -> KeysetPage[AuditEvent]:
        return await AuditRepository(session).list_events(
            integration_id=integration_id,
            token_id=token_id,
            action=action,
            limit=limit,
            offset=offset,
            after=after,
        )


audit_service = AuditService()


def _redacted(value: Any) -> Any:
    """Details with anything shaped like one of our secrets cut down to its prefix.

    Services never put a secret in details; this holds even if what a person typed does.
    """
    if isinstance(value, str):
        return token_format.redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value
