"""Revoking leaked secrets in bulk: one transaction, digest lookups, counts out.

A security team (or a secret scanner's webhook relay) posts what it found. Every secret
that is one of our active access tokens is revoked with reason ``leaked``, introspection
caches everywhere drop it, each affected integration gets one notice, and every
revocation is audited. The answer is three counts and never says whose a secret was.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app import token_format
from app.audit.service import AuditAction, audit_service
from app.db.base import utc_now
from app.introspection.invalidation import announce, token_key
from app.leaks.repository import LeakRepository
from app.leaks.schemas import LeakResult
from app.notifications.service import notification_service
from app.tokens.models import AccessToken, RevocationReason, TokenStatus
from app.tokens.repository import TokenRepository


class LeakService:
    async def report(
        self, session: AsyncSession, secrets: Sequence[str], *, actor: str
    ) -> LeakResult:
        distinct = list(dict.fromkeys(secrets))  # a secret reported twice counts once
        # Malformed or wrong-checksum strings cannot be ours: no database lookup for them.
        digests = [token_format.digest(s) for s in distinct if token_format.is_well_formed(s)]
        repository = LeakRepository(session)
        tokens = await repository.lock_by_digests(digests)
        now = utc_now()
        leaked = [t for t in tokens if t.status_at(now) == TokenStatus.ACTIVE]
        result = LeakResult(
            revoked=len(leaked),
            already_inactive=len(tokens) - len(leaked),
            unknown=len(distinct) - len(tokens),
        )
        await TokenRepository(session).revoke_ids(
            [t.id for t in leaked], reason=RevocationReason.LEAKED, now=now
        )
        await announce(session, [token_key(t.token_digest) for t in leaked])
        await self._audit(session, leaked, result, actor=actor)
        await self._notify(session, repository, leaked, actor=actor)
        return result

    @staticmethod
    async def _audit(
        session: AsyncSession, leaked: Sequence[AccessToken], result: LeakResult, *, actor: str
    ) -> None:
        for token in leaked:
            await audit_service.record(
                session,
                actor=actor,
                action=AuditAction.TOKEN_REVOKED,
                integration_id=token.integration_id,
                token_id=token.id,
                details={"name": token.name, "hint": token.hint, "reason": "leaked"},
            )
        await audit_service.record(
            session,
            actor=actor,
            action=AuditAction.LEAKED_TOKENS_REPORTED,
            details=result.model_dump(),
        )

    @staticmethod
    async def _notify(
        session: AsyncSession,
        repository: LeakRepository,
        leaked: Sequence[AccessToken],
        *,
        actor: str,
    ) -> None:
        by_integration: defaultdict[uuid.UUID, list[AccessToken]] = defaultdict(list)
        for token in leaked:
            by_integration[token.integration_id].append(token)
        integrations = await repository.integrations(list(by_integration))
        for integration_id, tokens in by_integration.items():
            # One notice per integration, listing its leaked tokens.
            await notification_service.tokens_leaked(
                session, integrations[integration_id], tokens, actor=actor
            )


leak_service = LeakService()
