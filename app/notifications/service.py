"""Queueing notices: the functions the other services call inside their transaction.

A notice is a row in the outbox, added to the caller's session; it commits (or rolls
back) with the change that caused it, so a committed change always has its notice and a
rolled-back one never does. Delivery is the sender's job (``app.notifications.sender``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utc_now
from app.db.session import after_commit
from app.integrations.models import Integration
from app.notifications import templates
from app.notifications.models import OutboxMessage
from app.notifications.repository import OutboxRepository
from app.notifications.sender import wake_local_senders
from app.tokens.models import AccessToken


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
    integration: Integration,
    mail: templates.Mail,
    kind: NoticeKind,
    *,
    now: datetime,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    return OutboxMessage(
        created_at=now,
        integration_id=integration.id,
        recipient=integration.notification_email,
        subject=mail.subject,
        body=mail.body,
        kind=kind.value,
        dedupe_key=dedupe_key,
        attempts=0,
        next_attempt_at=now,
    )


class NotificationService:
    async def token_issued(
        self, session: AsyncSession, integration: Integration, token: AccessToken, *, actor: str
    ) -> None:
        now = utc_now()
        mail = templates.token_issued(integration, token, actor=actor, at=now)
        self._queue(session, integration, mail, NoticeKind.TOKEN_ISSUED, now=now)

    async def token_regenerated(
        self,
        session: AsyncSession,
        integration: Integration,
        old: AccessToken,
        new: AccessToken,
        *,
        actor: str,
    ) -> None:
        now = utc_now()
        mail = templates.token_regenerated(integration, old, new, actor=actor, at=now)
        self._queue(session, integration, mail, NoticeKind.TOKEN_REGENERATED, now=now)

    async def token_revoked(
        self, session: AsyncSession, integration: Integration, token: AccessToken, *, actor: str
    ) -> None:
        now = utc_now()
        mail = templates.token_revoked(integration, token, actor=actor, at=now)
        self._queue(session, integration, mail, NoticeKind.TOKEN_REVOKED, now=now)

    async def tokens_revoked(
        self,
        session: AsyncSession,
        integration: Integration,
        tokens: Sequence[AccessToken],
        *,
        actor: str,
    ) -> None:
        """One summary for a mass revoke, however many tokens it revoked (none: no mail)."""
        self._queue_summary(
            session,
            integration,
            tokens,
            templates.tokens_revoked,
            NoticeKind.TOKENS_REVOKED,
            actor=actor,
        )

    async def tokens_leaked(
        self,
        session: AsyncSession,
        integration: Integration,
        tokens: Sequence[AccessToken],
        *,
        actor: str,
    ) -> None:
        """One notice per integration for the leaked secrets of it that were revoked."""
        self._queue_summary(
            session,
            integration,
            tokens,
            templates.tokens_leaked,
            NoticeKind.TOKENS_LEAKED,
            actor=actor,
        )

    def _queue_summary(
        self,
        session: AsyncSession,
        integration: Integration,
        tokens: Sequence[AccessToken],
        template: Callable[..., templates.Mail],
        kind: NoticeKind,
        *,
        actor: str,
    ) -> None:
        if not tokens:
            return
        now = utc_now()
        self._queue(
            session, integration, template(integration, tokens, actor=actor, at=now), kind, now=now
        )

    async def integration_active_changed(
        self, session: AsyncSession, integration: Integration, *, actor: str
    ) -> None:
        now = utc_now()
        if integration.active:
            mail = templates.integration_reactivated(integration, actor=actor, at=now)
            kind = NoticeKind.INTEGRATION_REACTIVATED
        else:
            mail = templates.integration_deactivated(integration, actor=actor, at=now)
            kind = NoticeKind.INTEGRATION_DEACTIVATED
        self._queue(session, integration, mail, kind, now=now)

    async def integration_deleted(
        self, session: AsyncSession, integration: Integration, *, revoked_tokens: int, actor: str
    ) -> None:
        now = utc_now()
        mail = templates.integration_deleted(
            integration, revoked_tokens=revoked_tokens, actor=actor, at=now
        )
        self._queue(session, integration, mail, NoticeKind.INTEGRATION_DELETED, now=now)

    @staticmethod
    def _queue(
        session: AsyncSession,
        integration: Integration,
        mail: templates.Mail,
        kind: NoticeKind,
        *,
        now: datetime,
    ) -> None:
        OutboxRepository(session).add(outbox_row(integration, mail, kind, now=now))
        # Deliver soon after the commit instead of at the next poll (never before it).
        after_commit(session, wake_local_senders)


notification_service = NotificationService()
