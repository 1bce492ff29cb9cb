"""Queueing notices: the functions the other services call inside their transaction.

A notice is a row in the outbox, added to the caller's session; it commits (or rolls
back) with the change that caused it, so a committed change always has its notice and a
rolled-back one never does. Delivery is the sender's job (``app.notifications.sender``).
Callers pass facts (``IntegrationFacts``, ``TokenFacts``), never their ORM rows.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utc_now
from app.notifications import templates
from app.notifications.facts import IntegrationFacts, TokenFacts
from app.notifications.models import OutboxMessage
from app.notifications.repository import OutboxRepository
from app.notifications.sender import wake_sender_after_commit


class NoticeKind(enum.StrEnum):
    TOKEN_ISSUED = "token.issued"
    TOKEN_REGENERATED = "token.regenerated"
    TOKEN_REVOKED = "token.revoked"
    TOKENS_REVOKED = "tokens.revoked"
    TOKENS_LEAKED = "tokens.leaked"
    INTEGRATION_DEACTIVATED = "integration.deactivated"
    INTEGRATION_REACTIVATED = "integration.reactivated"
    INTEGRATION_DELETED = "integration.deleted"
    TOKEN_EXPIRES_IN_7_DAYS = "token.expires_in_7d"
    TOKEN_EXPIRES_IN_1_DAY = "token.expires_in_1d"
    TOKEN_EXPIRED = "token.expired"


def outbox_row(
    integration: IntegrationFacts,
    mail: templates.Mail,
    kind: NoticeKind,
    *,
    now: datetime,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    """The column values of one queued notice (the expiry scan inserts them in bulk)."""
    return {
        "id": uuid.uuid4(),
        "created_at": now,
        "integration_id": integration.id,
        "recipient": integration.notification_email,
        "subject": mail.subject,
        "body": mail.body,
        "kind": kind.value,
        "dedupe_key": dedupe_key,
        "attempts": 0,
        "next_attempt_at": now,
        "sent_at": None,
        "last_error": None,
    }


class NotificationService:
    """Each method queues one notice; ``at`` in a template is when it was queued."""

    async def token_issued(
        self, session: AsyncSession, integration: IntegrationFacts, token: TokenFacts, *, actor: str
    ) -> None:
        self._queue(
            session,
            integration,
            NoticeKind.TOKEN_ISSUED,
            lambda at: templates.token_issued(integration, token, actor=actor, at=at),
        )

    async def token_regenerated(
        self,
        session: AsyncSession,
        integration: IntegrationFacts,
        old: TokenFacts,
        new: TokenFacts,
        *,
        actor: str,
    ) -> None:
        self._queue(
            session,
            integration,
            NoticeKind.TOKEN_REGENERATED,
            lambda at: templates.token_regenerated(integration, old, new, actor=actor, at=at),
        )

    async def token_revoked(
        self, session: AsyncSession, integration: IntegrationFacts, token: TokenFacts, *, actor: str
    ) -> None:
        self._queue(
            session,
            integration,
            NoticeKind.TOKEN_REVOKED,
            lambda at: templates.token_revoked(integration, token, actor=actor, at=at),
        )

    async def tokens_revoked(
        self,
        session: AsyncSession,
        integration: IntegrationFacts,
        tokens: Sequence[TokenFacts],
        *,
        actor: str,
        leaked: bool = False,
        count: int | None = None,
    ) -> None:
        """One summary for a mass revoke or a leak report, however many tokens (none: no mail).

        ``count`` is how many were revoked when ``tokens`` holds only the first of them (the
        mail lists at most 50).
        """
        count = len(tokens) if count is None else count
        if not count:
            return
        template = templates.tokens_leaked if leaked else templates.tokens_revoked
        self._queue(
            session,
            integration,
            NoticeKind.TOKENS_LEAKED if leaked else NoticeKind.TOKENS_REVOKED,
            lambda at: template(integration, tokens, actor=actor, at=at, count=count),
        )

    async def integration_active_changed(
        self, session: AsyncSession, integration: IntegrationFacts, *, actor: str
    ) -> None:
        if integration.active:
            kind, template = NoticeKind.INTEGRATION_REACTIVATED, templates.integration_reactivated
        else:
            kind, template = NoticeKind.INTEGRATION_DEACTIVATED, templates.integration_deactivated
        self._queue(
            session, integration, kind, lambda at: template(integration, actor=actor, at=at)
        )

    async def integration_deleted(
        self,
        session: AsyncSession,
        integration: IntegrationFacts,
        *,
        revoked_tokens: int,
        actor: str,
    ) -> None:
        self._queue(
            session,
            integration,
            NoticeKind.INTEGRATION_DELETED,
            lambda at: templates.integration_deleted(
                integration, revoked_tokens=revoked_tokens, actor=actor, at=at
            ),
        )

    @staticmethod
    def _queue(
        session: AsyncSession,
        integration: IntegrationFacts,
        kind: NoticeKind,
        write_mail: Callable[[datetime], templates.Mail],
    ) -> None:
        now = utc_now()
        row = outbox_row(integration, write_mail(now), kind, now=now)
        OutboxRepository(session).add(OutboxMessage(**row))
        # Deliver soon after the commit instead of at the next poll (never before it).
        wake_sender_after_commit(session)


notification_service = NotificationService()
